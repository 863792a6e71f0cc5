import { Client } from 'pg';
import { ObjectStorage, createS3Client } from '@video-pipeline/storage';
import type { BenchEnv } from './environment';
import { uploadClient, uploadFileStreaming, uploadFileWithCurl } from './multipart-upload';
import { BENCH_API_KEY, type UploadApiProcess } from './upload-api-process';

/** The bench stack's s3proxy as the pipeline's ObjectStorage, with the bucket created. */
export async function benchStorage(env: BenchEnv, bucket: string): Promise<ObjectStorage> {
  const { storage } = env.config('', { S3_BUCKET: bucket });
  const objects = new ObjectStorage(createS3Client(storage), bucket);
  await objects.ensureBucket();
  return objects;
}

/** Generous: even a slow run of a large upload finishes within it. */
export function uploadTimeoutMs(sizeBytes: number): number {
  return Math.round(60_000 + sizeBytes / 5e3); // 5 MB/s
}

export interface UploadedVideo {
  id: string;
  key: string;
  sizeBytes: number;
  elapsedMs: number;
}

/** Uploads through the API and insists on a 201 for a video of the file's size. */
export async function uploadThroughApi(api: UploadApiProcess, file: string, sizeBytes: number): Promise<UploadedVideo> {
  const upload = uploadClient === 'curl' ? uploadFileWithCurl : uploadFileStreaming;
  const result = await upload(api.baseUrl, BENCH_API_KEY, file, { title: 'bench', timeoutMs: uploadTimeoutMs(sizeBytes) });
  if (result.status !== 201) throw new Error(`upload answered ${result.status}: ${JSON.stringify(result.body)}; API log ${api.logFile}`);
  const video = result.body as { id: string; object: { key: string; sizeBytes: number } };
  if (video.object.sizeBytes !== sizeBytes) throw new Error(`the API stored ${video.object.sizeBytes} bytes of a ${sizeBytes}-byte file`);
  return { id: video.id, key: video.object.key, sizeBytes, elapsedMs: result.elapsedMs };
}

/**
 * Removes what uploads left: the objects (they fill the disk) and the video
 * and outbox rows (no relay runs for the upload benchmarks, so their events
 * would otherwise wait in the outbox for the next relay to meet them).
 */
export async function removeUploads(env: BenchEnv, storage: ObjectStorage, videos: readonly UploadedVideo[]): Promise<void> {
  if (videos.length === 0) return;
  await Promise.all(videos.map((video) => storage.deleteObject(video.key)));
  const client = new Client({ connectionString: env.databaseUrl });
  await client.connect();
  try {
    const ids = videos.map((video) => video.id);
    await client.query('DELETE FROM outbox_events WHERE key = ANY($1::text[])', [ids]);
    await client.query('DELETE FROM videos WHERE id = ANY($1::uuid[])', [ids]);
  } finally {
    await client.end();
  }
}
