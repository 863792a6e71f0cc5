import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { ConsumerGroupRuntime, WaitingRoom, recordVideoReceipt } from '@video-pipeline/consumer';
import { PipelineError } from '@video-pipeline/errors';
import { toKafkaRecord } from '@video-pipeline/events';
import { createKafka, createProducer, topicSpecs } from '@video-pipeline/kafka';
import { createPrismaClient } from '@video-pipeline/db';
import { sampleVideoUploaded } from '../../../test/support/events';
import { createTopics, eventually, testLogger } from '../../../test/support/pipeline';
import { uniquePrefix } from '../../../test/support/test-env';
import { RefusedError } from '../src/context';
import { runOps } from '../src/main';
import { otherEventsIgnored } from '../../../test/support/events';

/** Runs the CLI in-process and returns what it printed. */
async function ops(prefix: string, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await runOps(argv, { ...process.env, KAFKA_TOPIC_PREFIX: prefix }, { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)) });
  return { code, stdout, stderr };
}

describe('the ops CLI', () => {
  const prefix = uniquePrefix('ops');
  const kafka = createKafka({ brokers: process.env.KAFKA_BROKERS!.split(','), clientId: 'ops-test', topicPrefix: prefix, connectionTimeoutMs: 5_000 }, testLogger());
  const prisma = createPrismaClient({ databaseUrl: process.env.DATABASE_URL! });
  const producer = createProducer(kafka);
  const poison = sampleVideoUploaded();
  const good = [sampleVideoUploaded(), sampleVideoUploaded()];
  const handled: string[] = [];
  let fixed = false;

  const runtime = () =>
    new ConsumerGroupRuntime({
      group: 'moderation',
      handlers: {
        ...otherEventsIgnored, 'video.uploaded': async (event, context) => {
          if (event.id === poison.id && !fixed) throw new PipelineError('processing_failed', 'refused by the test');
          handled.push(event.id);
          return recordVideoReceipt(event, context);
        },
      },
      kafka,
      prisma,
      logger: testLogger(),
      topicPrefix: prefix,
    });

  beforeAll(async () => {
    await createTopics(kafka, prefix, topicSpecs.filter((spec) => spec.name === 'video.uploaded' || spec.name.startsWith('moderation.')));
    await producer.connect();
    await producer.send({ topic: `${prefix}video.uploaded`, messages: [poison, ...good].map((event) => toKafkaRecord(event)) });
  });
  afterAll(async () => {
    await producer.disconnect();
    await prisma.$disconnect();
  });

  it('shows lag, dead letters, refuses to reset an active group, resets a stopped one, and replays', async () => {
    const before = JSON.parse((await ops(prefix, 'groups', '--json')).stdout) as { groupId: string; totalLag: number }[];
    expect(before.find((g) => g.groupId === `${prefix}moderation`)?.totalLag).toBe(3);

    const worker = runtime();
    await worker.start();
    await eventually(async () => handled.length === 2, 20_000, 'the good events');
    const parked = await eventually(async () => {
      const result = JSON.parse((await ops(prefix, 'dlq', 'moderation', '--json')).stdout) as { deadLetters: { eventId: string; errorCode: string; attempts: number }[] };
      return result.deadLetters.length === 1 && result.deadLetters[0];
    }, 20_000, 'the poison event in the dead-letter topic');
    expect(parked).toMatchObject({ eventId: poison.id, errorCode: 'processing_failed', attempts: 1 });

    const group = await eventually(async () => {
      const status = JSON.parse((await ops(prefix, 'group', 'moderation', '--json')).stdout) as { state: string; members: unknown[]; totalLag: number };
      return status.totalLag === 0 && status;
    }, 20_000, 'lag to reach zero');
    expect(group).toMatchObject({ state: 'Stable', members: [expect.anything()] });
    expect((await ops(prefix, 'group', 'moderation')).stdout).toContain('video.uploaded');

    await expect(ops(prefix, 'reset-offsets', 'moderation', '--to', 'earliest')).rejects.toBeInstanceOf(RefusedError);
    await worker.stop();
    const reset = await ops(prefix, 'reset-offsets', 'moderation', '--to', 'earliest', '--topic', 'video.uploaded', '--json');
    expect(reset.code).toBe(0);
    const afterReset = JSON.parse((await ops(prefix, 'group', 'moderation', '--json')).stdout) as { totalLag: number };
    expect(afterReset.totalLag).toBe(3);

    // Replay the dead letter once the "bug" is fixed. The reset redelivers everything, the poison
    // event twice (from the topic and from the replay): each event's effects happen once.
    fixed = true;
    const replayed = await ops(prefix, 'replay', 'moderation', '--event-id', poison.id, '--json');
    expect(JSON.parse(replayed.stdout)).toMatchObject({ scanned: 1, replayed: 1 });
    const again = runtime();
    await again.start();
    try {
      await eventually(async () => handled.includes(poison.id), 20_000, 'the replayed event');
      await eventually(async () => (JSON.parse((await ops(prefix, 'group', 'moderation', '--json')).stdout) as { totalLag: number }).totalLag === 0, 20_000, 'the group to catch up');
      const receipts = await prisma.videoReceipt.findMany({ where: { consumerGroup: `${prefix}moderation` } });
      expect(receipts.map((r) => r.eventId).sort()).toEqual([poison.id, ...good.map((e) => e.id)].sort());
      // The good events were already processed before the reset: their handlers did not run again.
      for (const event of good) expect(handled.filter((id) => id === event.id)).toHaveLength(1);
    } finally {
      await again.stop();
    }

    const topics = JSON.parse((await ops(prefix, 'topics', '--json')).stdout) as { topic: string; exists: boolean; partitions: number }[];
    expect(topics.find((t) => t.topic === `${prefix}video.uploaded`)).toMatchObject({ exists: true, partitions: 6 });
  });

  it('lists the videos a group holds behind events in the retry tiers, first in queue first', async () => {
    const empty = await ops(prefix, 'waiting', 'analytics');
    expect(empty.stdout).toContain('no video is held');

    const room = new WaitingRoom(prisma, `${prefix}analytics`);
    const [first, second] = [sampleVideoUploaded(), sampleVideoUploaded({ videoId: good[0]!.subject })];
    await room.enqueue({ topic: `${prefix}video.uploaded`, key: second.subject, offset: '7' }, second.id);
    await room.enqueue({ topic: `${prefix}video.uploaded`, key: second.subject, offset: '3' }, first.id);

    const listed = JSON.parse((await ops(prefix, 'waiting', 'analytics', '--json')).stdout) as { videos: number; events: { key: string; offset: string; eventId: string }[] };
    expect(listed.videos).toBe(1);
    expect(listed.events.map((event) => [event.key, event.offset, event.eventId])).toEqual([
      [second.subject, '3', first.id],
      [second.subject, '7', second.id],
    ]);
    const human = await ops(prefix, 'waiting', 'analytics');
    expect(human.stdout).toContain('1 video(s) held, 2 event(s) waiting');
    expect(human.stdout).toContain(`${prefix}video.uploaded@3`);
    // Another group's queue is its own.
    expect((await ops(prefix, 'waiting', 'moderation')).stdout).toContain('no video is held');

    // Released by hand (its events are gone from the tiers), the video runs again as soon as its events come.
    const other = sampleVideoUploaded();
    await room.enqueue({ topic: `${prefix}video.uploaded`, key: other.subject, offset: '9' }, other.id);
    const released = await ops(prefix, 'waiting', 'analytics', '--release', second.subject, '--json');
    expect((JSON.parse(released.stdout) as { events: { key: string }[] }).events.map((event) => event.key)).toEqual([other.subject]);
    await room.release();
  });

  it('releases the videos a group held when its retry tiers are reset past their events', async () => {
    await createTopics(kafka, prefix, topicSpecs.filter((spec) => spec.name.startsWith('analytics.retry.')));
    const room = new WaitingRoom(prisma, `${prefix}analytics`);
    const held = sampleVideoUploaded();
    await room.enqueue({ topic: `${prefix}video.uploaded`, key: held.subject, offset: '1' }, held.id);

    // The event topic alone: the tiers, and what waits there, stay.
    const sourceOnly = JSON.parse((await ops(prefix, 'reset-offsets', 'analytics', '--to', 'latest', '--topic', 'video.uploaded', '--json')).stdout) as { releasedWaiting: number };
    expect(sourceOnly.releasedWaiting).toBe(0);
    expect(await room.list()).toHaveLength(1);

    // A tier: what waited there is skipped, so nothing would ever give up its place. (One tier keeps the test short: each topic's reset joins the group.)
    const tier = await ops(prefix, 'reset-offsets', 'analytics', '--to', 'latest', '--topic', 'analytics.retry.1');
    expect(tier.stdout).toContain('released 1 waiting event(s)');
    expect(await room.list()).toEqual([]);
  });

  it('prunes the idempotency records a group can no longer need, and refuses to prune ones it may', async () => {
    const groupId = `${prefix}analytics`;
    const now = Date.now();
    const DAY_MS = 24 * 60 * 60 * 1000;
    const processedDaysAgo = async (days: number) => {
      const eventId = randomUUID();
      await prisma.processedEvent.create({ data: { consumerGroup: groupId, eventId, processedAt: new Date(now - days * DAY_MS) } });
      return eventId;
    };
    const expired = [await processedDaysAgo(40), await processedDaysAgo(36)];
    const kept = [await processedDaysAgo(34), await processedDaysAgo(1)];

    // The dead-letter topic keeps events 30 days: by default, records of events processed over 35 days ago go.
    const pruned = JSON.parse((await ops(prefix, 'prune', 'analytics', '--json')).stdout) as { olderThanDays: number; deleted: number };
    expect(pruned).toMatchObject({ olderThanDays: 35, deleted: expired.length });
    const left = await prisma.processedEvent.findMany({ where: { consumerGroup: groupId }, select: { eventId: true } });
    expect(left.map((record) => record.eventId).sort()).toEqual([...kept].sort());
    expect((await ops(prefix, 'prune', 'analytics')).stdout).toContain('analytics: deleted 0 record(s)');

    // A replay could still bring back an event the records would then forget.
    await expect(ops(prefix, 'prune', 'analytics', '--older-than', '7')).rejects.toThrow(RefusedError);
    await expect(ops(prefix, 'prune', 'analytics', '--older-than', 'soon')).rejects.toThrow(/whole number of days/);
    expect(await prisma.processedEvent.count({ where: { consumerGroup: groupId } })).toBe(kept.length);
  });

  it('answers usage mistakes clearly', async () => {
    await expect(ops(prefix, 'group', 'nope')).rejects.toThrow(/name a consumer group/);
    await expect(ops(prefix, 'replay', 'moderation')).rejects.toThrow(/--event-id/);
    await expect(ops(prefix, 'waiting')).rejects.toThrow(/name a consumer group/);
    await expect(ops(prefix, 'reset-offsets', 'moderation', '--to', 'yesterday')).rejects.toThrow(/ISO time/);
  });
});

describe('the ops CLI counts lag on the topics a group reads', () => {
  const prefix = uniquePrefix('ops-lag');
  const kafka = createKafka({ brokers: process.env.KAFKA_BROKERS!.split(','), clientId: 'ops-lag-test', topicPrefix: prefix, connectionTimeoutMs: 5_000 }, testLogger());
  const prisma = createPrismaClient({ databaseUrl: process.env.DATABASE_URL! });
  const producer = createProducer(kafka);
  const upload = sampleVideoUploaded();

  beforeAll(async () => {
    await createTopics(kafka, prefix, topicSpecs.filter((spec) => ['video.uploaded', 'video.ready'].includes(spec.name) || spec.name.startsWith('moderation.')));
    await producer.connect();
    await producer.send({ topic: `${prefix}video.uploaded`, messages: [toKafkaRecord(upload)] });
    // An event of a type moderation does not handle: it never subscribes to its topic.
    await producer.send({ topic: `${prefix}video.ready`, messages: [{ key: upload.data.videoId, value: '{}' }] });
  });
  afterAll(async () => {
    await producer.disconnect();
    await prisma.$disconnect();
  });

  it("leaves out other event topics' records, while the group runs and once it stopped", async () => {
    const worker = new ConsumerGroupRuntime({
      group: 'moderation',
      handlers: { ...otherEventsIgnored, 'video.uploaded': async (event, context) => recordVideoReceipt(event, context) },
      kafka,
      prisma,
      logger: testLogger(),
      topicPrefix: prefix,
    });
    await worker.start();
    try {
      const status = await eventually(async () => {
        const group = JSON.parse((await ops(prefix, 'group', 'moderation', '--json')).stdout) as { members: unknown[]; totalLag: number; partitions: { topic: string; committed?: string }[] };
        return group.members.length === 1 && group.partitions.some((partition) => partition.committed === '1') && group;
      }, 20_000, 'the group to handle the upload');
      expect(status.totalLag).toBe(0);
      expect(new Set(status.partitions.map((partition) => partition.topic))).toEqual(new Set([`${prefix}video.uploaded`, ...[1, 2, 3].map((tier) => `${prefix}moderation.retry.${tier}`)]));
    } finally {
      await worker.stop();
    }
    const groups = JSON.parse((await ops(prefix, 'groups', '--json')).stdout) as { groupId: string; members: unknown[]; totalLag: number }[];
    expect(groups.find((group) => group.groupId === `${prefix}moderation`)).toMatchObject({ members: [], totalLag: 0 });
  });
});
