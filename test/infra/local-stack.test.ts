import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateMultipartUploadCommand, AbortMultipartUploadCommand, GetObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { KafkaBroker, PortInUseError, PostgresServer, STACK_PRESETS, startStack, type Stack } from '../../infra/stack';
import { ObjectStorage } from '@video-pipeline/storage';
import { TEST_STACK_SLOT } from '../support/test-env';

jest.setTimeout(180_000);

/**
 * The local stack itself, on ports and data of its own (it restarts and
 * kills its servers): what `npm start` and the tests rely on.
 */
describe('the local stack (Kafka and s3proxy from jars, Postgres from npm)', () => {
  const dataDir = `${STACK_PRESETS.test.dataDir}-stack-${TEST_STACK_SLOT}`;
  const port = 19_500 + 10 * TEST_STACK_SLOT;
  let stack: Stack;

  beforeAll(async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    stack = await startStack({
      dataDir,
      kafka: { port, controllerPort: port + 1 },
      s3: { port: port + 2 },
      postgres: { port: port + 4, database: 'stack_test' },
      onProgress: () => undefined,
      handleSignals: false,
    });
  });
  afterAll(async () => {
    await stack?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps Kafka data over a graceful restart and over a kill -9', async () => {
    const kafka = new Kafka({ clientId: 'stack-test', brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'kept', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kept', acks: -1, messages: [{ key: 'k', value: 'hello' }] });
    await producer.disconnect();

    await stack.kafka.restart();
    expect(await endOffset(kafka, 'kept')).toBe(1);
    await stack.kafka.kill();
    await stack.kafka.start();
    expect(await endOffset(kafka, 'kept')).toBe(1);
  });

  it('refuses to start a second broker on a port that is served, with a typed error', async () => {
    const second = new KafkaBroker({ dataDir: path.join(dataDir, 'second'), port: stack.kafka.port, controllerPort: port + 3, onProgress: () => undefined });
    await expect(second.start()).rejects.toThrow(PortInUseError);
    await expect(second.start()).rejects.toMatchObject({ code: 'STACK_PORT_IN_USE', occupant: 'kafka' });
  });

  it('serves S3 multipart uploads and lists an open one until it is aborted, across a restart', async () => {
    const s3 = new S3Client(stack.s3.clientSettings());
    const storage = new ObjectStorage(s3, 'stack-test');
    await storage.ensureBucket();
    const body = crypto.randomBytes(12 * 1024 * 1024);
    await new Upload({ client: s3, params: { Bucket: 'stack-test', Key: 'big.bin', Body: body }, partSize: 5 * 1024 * 1024 }).done();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'stack-test', Key: 'big.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);

    const open = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'stack-test', Key: 'left-open' }));
    await s3.send(new UploadPartCommand({ Bucket: 'stack-test', Key: 'left-open', UploadId: open.UploadId, PartNumber: 1, Body: crypto.randomBytes(5 * 1024 * 1024) }));
    expect(await storage.listOpenMultipartUploads()).toEqual([{ key: 'left-open', uploadId: open.UploadId }]);
    await stack.s3.restart();
    expect(await storage.listOpenMultipartUploads()).toEqual([{ key: 'left-open', uploadId: open.UploadId }]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'stack-test', Key: 'left-open', UploadId: open.UploadId }));
    expect(await storage.listOpenMultipartUploads()).toEqual([]);
    expect(await storage.listKeys()).toEqual(['big.bin']);
    s3.destroy();
  });

  it('runs a Postgres of its own that keeps its data over a kill -9, and refuses a second on its port', async () => {
    expect(stack.env.DATABASE_URL).toBe(`postgresql://postgres@127.0.0.1:${port + 4}/stack_test`);
    await withClient(stack.postgres!.databaseUrl('postgres'), (client) => client.query('CREATE TABLE kept (value text); INSERT INTO kept VALUES ($$hello$$)'));

    await stack.postgres!.kill();
    await stack.postgres!.start();
    expect(await withClient(stack.postgres!.databaseUrl('postgres'), async (client) => (await client.query('SELECT value FROM kept')).rows)).toEqual([{ value: 'hello' }]);

    const second = new PostgresServer({ dataDir: path.join(dataDir, 'second-postgres'), port: port + 4, onProgress: () => undefined });
    await expect(second.start()).rejects.toMatchObject({ code: 'STACK_PORT_IN_USE', occupant: 'postgres' });
  });

  it('leaves no process behind when stopped', async () => {
    await stack.stop();
    expect(processesMentioning(dataDir)).toEqual([]);
  });
});

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function endOffset(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return Number((await admin.fetchTopicOffsets(topic))[0]!.high);
  } finally {
    await admin.disconnect();
  }
}

function processesMentioning(text: string): string[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // the process ended while we looked
      }
    });
}
