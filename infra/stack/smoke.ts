/**
 * End-to-end check of the local stack on its own ports and data dir
 * (29092/29093/29000, .data/smoke), so it runs beside a dev and a test stack:
 * Kafka produce/consume, data kept over a graceful restart and over a crash,
 * S3 multipart upload/get/delete, ListMultipartUploads of an open upload,
 * the typed error for a port already served, and no JVM left afterwards.
 *   npx tsx infra/stack/smoke.ts
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Kafka, logLevel } from 'kafkajs';
import { DATA_ROOT } from './paths';
import { KafkaBroker, PortInUseError, startStack, type Stack } from './index';

const TOPIC = 'smoke-events';

async function main(): Promise<void> {
  const dataDir = path.join(DATA_ROOT, 'smoke');
  let t = Date.now();
  const stack = await startStack({ dataDir, kafka: { port: 29092, controllerPort: 29093 }, s3: { port: 29000 } });
  console.log(`stack started in ${Date.now() - t} ms`, stack.env);
  try {
    await checkKafka(stack);
    await checkPortInUse(stack, dataDir);
    await checkS3(stack);
  } finally {
    t = Date.now();
    await stack.stop();
    console.log(`stack stopped in ${Date.now() - t} ms`);
  }
  assertNoJvmFor(dataDir);
  console.log('smoke: all checks passed');
}

async function checkKafka(stack: Stack): Promise<void> {
  const kafka = new Kafka({ clientId: 'smoke', brokers: stack.kafka.brokers, logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const created = await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
  console.log(`topic ${TOPIC} ${created ? 'created' : 'already existed (data from an earlier run)'}`);
  await admin.disconnect();

  const marker = `hello-${Date.now()}`;
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: TOPIC, messages: [{ key: 'k', value: marker }] });
  await producer.disconnect();
  assert.ok((await readAll(kafka, TOPIC)).includes(marker), 'message consumed');
  console.log('kafka: produce + consume ok');

  let t = Date.now();
  await stack.kafka.restart();
  console.log(`kafka: graceful restart took ${Date.now() - t} ms`);
  assert.ok((await readAll(kafka, TOPIC)).includes(marker), 'message kept across graceful restart');

  t = Date.now();
  await stack.kafka.kill();
  await stack.kafka.start();
  console.log(`kafka: kill -9 + start took ${Date.now() - t} ms`);
  assert.ok((await readAll(kafka, TOPIC)).includes(marker), 'message kept across a crash');
  console.log('kafka: data kept across restart and crash');
}

/** Reads the topic from the beginning with a fresh consumer group. */
async function readAll(kafka: Kafka, topic: string): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const end = Number(offsets[0]?.high ?? 0);
  const values: string[] = [];
  const consumer = kafka.consumer({ groupId: `smoke-${crypto.randomUUID()}`, sessionTimeout: 6_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const t = Date.now();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${values.length}/${end} in 30 s`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
        if (Number(message.offset) + 1 >= end) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  console.log(`  read ${values.length} messages with a new group in ${Date.now() - t} ms`);
  return values;
}

async function checkPortInUse(stack: Stack, dataDir: string): Promise<void> {
  const second = new KafkaBroker({ dataDir: path.join(dataDir, 'kafka-second'), port: stack.kafka.port, controllerPort: 29094, onProgress: () => {} });
  await assert.rejects(second.start(), (error: unknown) => {
    assert.ok(error instanceof PortInUseError);
    assert.equal(error.code, 'STACK_PORT_IN_USE');
    assert.equal(error.occupant, 'kafka');
    console.log(`second broker refused: ${error.message}`);
    return true;
  });
  fs.rmSync(path.join(dataDir, 'kafka-second'), { recursive: true, force: true });
}

async function checkS3(stack: Stack): Promise<void> {
  const s3 = new S3Client(stack.s3.clientSettings());
  const bucket = 'smoke';
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: Error) => {
    if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
  });

  const body = crypto.randomBytes(12 * 1024 * 1024);
  let t = Date.now();
  await new Upload({ client: s3, params: { Bucket: bucket, Key: 'big.bin', Body: body }, partSize: 5 * 1024 * 1024 }).done();
  console.log(`s3: 12 MB multipart Upload in ${Date.now() - t} ms`);
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
  const bytes = Buffer.from(await got.Body!.transformToByteArray());
  assert.equal(sha256(bytes), sha256(body), 'GetObject returns what was uploaded');
  console.log('s3: GetObject matches');

  const openKey = 'uploads/v1/left-open.bin';
  const open = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: openKey }));
  await s3.send(new UploadPartCommand({ Bucket: bucket, Key: openKey, UploadId: open.UploadId, PartNumber: 1, Body: crypto.randomBytes(5 * 1024 * 1024) }));
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  console.log('s3: ListMultipartUploads with one open upload ->', JSON.stringify(listed.Uploads ?? []));
  assert.deepEqual(listed.Uploads?.map((upload) => [upload.Key, upload.UploadId]), [[openKey, open.UploadId]]);
  console.log('s3: files under blobs/ while open ->', listFiles(stack.s3.blobDir));
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  console.log('s3: ListObjectsV2 while open ->', objects.Contents?.map((object) => object.Key));
  await stack.s3.restart();
  const afterRestart = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  assert.deepEqual(afterRestart.Uploads?.map((upload) => upload.UploadId), [open.UploadId], 'open upload listed after an s3proxy restart');
  console.log('s3: open upload still listed after s3proxy restart');
  await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: openKey, UploadId: open.UploadId }));
  const afterAbort = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  console.log('s3: after abort ->', JSON.stringify(afterAbort.Uploads ?? []), listFiles(stack.s3.blobDir));

  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
  await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin' })), (error: Error) => error.name === 'NotFound');
  console.log('s3: DeleteObject ok');
  s3.destroy();
}

function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => `${path.relative(dir, path.join(entry.parentPath, entry.name))} (${fs.statSync(path.join(entry.parentPath, entry.name)).size} B)`);
}

/** No process may still run with this data dir on its command line. */
function assertNoJvmFor(dataDir: string): void {
  const leftovers = fs.readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return false;
        throw error;
      }
    });
  assert.deepEqual(leftovers, [], `processes left for ${dataDir}`);
  console.log('no processes left for', dataDir);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
