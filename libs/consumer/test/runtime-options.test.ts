import { Kafka } from 'kafkajs';
import type { PrismaClient } from '@video-pipeline/db';
import { createLogger } from '@video-pipeline/logging';
import { ConsumerGroupRuntime, defaultRetryPolicy, type ConsumerGroupOptions } from '../src';
import { otherEventsIgnored } from './support/harness';

// Nothing here connects: the runtime only builds its clients until start().
const base: ConsumerGroupOptions = {
  group: 'transcoder',
  handlers: { ...otherEventsIgnored, 'video.uploaded': async () => undefined },
  kafka: new Kafka({ brokers: ['127.0.0.1:1'] }),
  prisma: {} as PrismaClient,
  logger: createLogger('test', { level: 'silent' }),
};

describe('ConsumerGroupRuntime options', () => {
  it('derives the group id, topics and dead-letter topic from the group and prefix', () => {
    const runtime = new ConsumerGroupRuntime({ ...base, topicPrefix: 'staging.' });
    expect(runtime.groupId).toBe('staging.transcoder');
    expect(runtime.topics).toEqual(['staging.video.uploaded', 'staging.transcoder.retry.1', 'staging.transcoder.retry.2', 'staging.transcoder.retry.3']);
    expect(runtime.deadLetterTopic).toBe('staging.transcoder.dlq');
  });

  it('subscribes only to the retry tiers its policy uses, and to no topic of an ignored event', () => {
    expect(new ConsumerGroupRuntime({ ...base, retryPolicy: { ...defaultRetryPolicy, tierDelaysMs: [1_000] } }).topics).toEqual(['video.uploaded', 'transcoder.retry.1']);
    expect(new ConsumerGroupRuntime({ ...base, handlers: { ...otherEventsIgnored, 'video.uploaded': 'ignore' } }).topics).toEqual(['transcoder.retry.1', 'transcoder.retry.2', 'transcoder.retry.3']);
  });

  it('refuses a heartbeat too slow for the session timeout, saying what to change', () => {
    expect(() => new ConsumerGroupRuntime({ ...base, sessionTimeoutMs: 6_000, heartbeatIntervalMs: 2_000 })).toThrow(
      'heartbeatIntervalMs (2000) must be under a third of sessionTimeoutMs (6000) so one lost heartbeat does not cost the membership',
    );
  });

  it('refuses a handler time limit the rebalance timeout cannot wait for, or none at all', () => {
    expect(() => new ConsumerGroupRuntime({ ...base, rebalanceTimeoutMs: 60_000, handlerTimeoutMs: 60_001 })).toThrow(
      'handlerTimeoutMs (60001) must be above 0 and at most rebalanceTimeoutMs (60000): a member still in a handler when a rebalance times out loses its partitions',
    );
    expect(() => new ConsumerGroupRuntime({ ...base, handlerTimeoutMs: 0 })).toThrow('handlerTimeoutMs (0) must be above 0');
    expect(() => new ConsumerGroupRuntime({ ...base, handlerTimeoutMs: Number.NaN })).toThrow('handlerTimeoutMs (NaN) must be above 0');
    // By default the limit is the rebalance timeout, so tuning that one alone stays valid.
    expect(() => new ConsumerGroupRuntime({ ...base, rebalanceTimeoutMs: 60_000 })).not.toThrow();
  });

  it('refuses an invalid retry policy', () => {
    expect(() => new ConsumerGroupRuntime({ ...base, retryPolicy: { ...defaultRetryPolicy, attemptsPerDelivery: 0 } })).toThrow('invalid retry policy');
  });
});
