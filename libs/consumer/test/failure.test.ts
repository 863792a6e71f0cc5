import { KafkaJSError, KafkaJSNonRetriableError } from 'kafkajs';
import { PipelineError } from '@video-pipeline/errors';
import { randomUUID } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { classifyFailure } from '../src';
import { testConfig } from '../../../test/support/test-env';

describe('classifyFailure decides between retry and dead letter', () => {
  it('follows the retriable flag of our error codes', () => {
    expect(classifyFailure(new PipelineError('processing_failed', 'corrupt container'))).toEqual({ retriable: false, code: 'processing_failed', message: 'corrupt container' });
    expect(classifyFailure(new PipelineError('malformed_event', 'bad JSON'))).toEqual({ retriable: false, code: 'malformed_event', message: 'bad JSON' });
    expect(classifyFailure(new PipelineError('temporarily_unavailable', 'storage busy'))).toEqual({ retriable: true, code: 'temporarily_unavailable', message: 'storage busy' });
    expect(classifyFailure(new PipelineError('storage_unavailable', 'S3 down'))).toMatchObject({ retriable: true });
  });

  it('follows the retriable flag of kafkajs errors', () => {
    expect(classifyFailure(new KafkaJSError('broker went away', { retriable: true }))).toEqual({ retriable: true, code: 'broker_unavailable', message: 'broker went away' });
    expect(classifyFailure(new KafkaJSNonRetriableError('topic is invalid'))).toEqual({ retriable: false, code: 'internal', message: 'topic is invalid' });
  });

  it('assumes anything unknown is a transient internal failure, its class in the message, so a bug still ends in the dead-letter topic after the retries', () => {
    expect(classifyFailure(new TypeError("Cannot read properties of undefined (reading 'id')"))).toEqual({
      retriable: true,
      code: 'internal',
      message: "TypeError: Cannot read properties of undefined (reading 'id')",
    });
    expect(classifyFailure(new Error('boom'))).toEqual({ retriable: true, code: 'internal', message: 'boom' });
  });

  it('copes with things thrown that are not errors', () => {
    expect(classifyFailure('just a string')).toEqual({ retriable: true, code: 'internal', message: 'just a string' });
    expect(classifyFailure(undefined)).toEqual({ retriable: true, code: 'internal', message: 'undefined' });
  });
});

describe('classifyFailure judges database errors by their SQLSTATE (errors made by the real database)', () => {
  let prisma: PrismaClient;
  beforeAll(() => {
    prisma = createPrismaClient({ databaseUrl: testConfig('failure.').database.url, poolMax: 2 });
  });
  afterAll(() => prisma.$disconnect());

  const failureOf = async (work: () => Promise<unknown>) => classifyFailure(await work().then(() => undefined, (error: unknown) => error));

  it('dead-letters broken constraints at once, from model and raw queries alike', async () => {
    const receipt = { consumerGroup: `failure-${randomUUID()}`, videoId: randomUUID(), eventId: randomUUID() };
    await prisma.videoReceipt.create({ data: receipt });
    expect(await failureOf(() => prisma.videoReceipt.create({ data: receipt }))).toMatchObject({ retriable: false, code: 'database_rejected', message: expect.stringContaining('(SQLSTATE 23505)') });
    expect(await failureOf(() => prisma.$transaction(async (tx) => tx.videoReceipt.create({ data: receipt })))).toMatchObject({ retriable: false, code: 'database_rejected' });
    const insert = () => prisma.$executeRaw`INSERT INTO video_receipts (consumer_group, video_id, event_id) VALUES (${receipt.consumerGroup}, ${receipt.videoId}::uuid, ${receipt.eventId}::uuid)`;
    expect(await failureOf(insert)).toMatchObject({
      retriable: false,
      code: 'database_rejected',
      message: expect.stringMatching(/duplicate key.*\(SQLSTATE 23505\)$/),
    });
  });

  it('dead-letters bad data at once', async () => {
    expect(await failureOf(() => prisma.videoReceipt.create({ data: { consumerGroup: 'x', videoId: 'not-a-uuid', eventId: randomUUID() } }))).toMatchObject({ retriable: false, code: 'database_rejected', message: expect.stringContaining('(SQLSTATE 22P02)') });
    expect(await failureOf(() => prisma.$queryRaw`SELECT 1 / 0`)).toMatchObject({ retriable: false, code: 'database_rejected', message: expect.stringContaining('(SQLSTATE 22012)') });
  });

  it('retries other database errors as internal ones, their SQLSTATE in the message', async () => {
    expect(await failureOf(() => prisma.$queryRaw`SELECT * FROM no_such_table`)).toMatchObject({ retriable: true, code: 'internal', message: expect.stringContaining('(SQLSTATE 42P01)') });
  });

  it('retries an unreachable database', async () => {
    const unreachable = createPrismaClient({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/nowhere', poolMax: 1 });
    try {
      expect(await failureOf(() => unreachable.videoReceipt.count())).toMatchObject({ retriable: true });
      expect(await failureOf(() => unreachable.$queryRaw`SELECT 1`)).toMatchObject({ retriable: true });
    } finally {
      await unreachable.$disconnect();
    }
  });

  it('does not take a Node error code for a SQLSTATE', () => {
    const pipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    expect(classifyFailure(pipe)).toEqual({ retriable: true, code: 'internal', message: 'write EPIPE' });
  });
});
