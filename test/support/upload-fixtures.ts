import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { PipelineConfig } from '@video-pipeline/config';
import type { RunningApi } from './pipeline';
import { makeVideo } from './fixtures';

/** A real MP4 head followed by noise: passes the sniffer, any size we like. */
export async function videoLike(totalBytes: number): Promise<Buffer> {
  const head = (await fs.readFile(await makeVideo({ seconds: 1 }))).subarray(0, 8 * 1024);
  return Buffer.concat([head, randomBytes(totalBytes - head.length)]);
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** SHA-256 of a stored object, read back from the S3 server. */
export async function storedSha256(api: RunningApi, key: string): Promise<string> {
  const answer = await api.storage.client.send(new GetObjectCommand({ Bucket: api.storage.bucket, Key: key }));
  return sha256(Buffer.from(await answer.Body!.transformToByteArray()));
}

/** A seeded generator (mulberry32), so a failing run's random offsets can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** No object, no open multipart upload, no pending upload of `owners`, no video row, no outbox row for this test's bucket and topics. */
export async function expectNothingLeft(api: RunningApi, config: PipelineConfig, owners: string[]): Promise<void> {
  expect(await api.storage.listKeys()).toEqual([]);
  expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
  expect(await api.prisma.pendingUpload.count({ where: { ownerId: { in: owners } } })).toBe(0);
  expect(await api.prisma.video.count({ where: { bucket: config.storage.bucket } })).toBe(0);
  expect(await api.prisma.outboxEvent.count({ where: { topic: { startsWith: config.kafka.topicPrefix } } })).toBe(0);
}
