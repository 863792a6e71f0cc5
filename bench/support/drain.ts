import { PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks';
import { ConsumerGroupRuntime, ConsumerMetrics, type EventHandlers } from '@video-pipeline/consumer';
import type { PrismaClient } from '@video-pipeline/db';
import { retryTierDelaysMs, retryTopic } from '@video-pipeline/events';
import type { Kafka } from 'kafkajs';
import type { Logger } from '@video-pipeline/logging';
import { createTopics } from '../../test/support/pipeline';
import { waitFor } from './kafka';
import { CpuMeter, type CpuUse } from './proc';

export interface Drain {
  elapsedMs: number;
  cpu: Record<string, CpuUse>;
  eventLoopBusy: number;
  gcMs: number;
}

/** Wall time, CPU (this process, Postgres, the machine), event-loop use and GC pauses from the first record handled to the last. */
export class DrainClock {
  private startedAt?: number;
  private meter?: CpuMeter;
  private eventLoop?: EventLoopUtilization;
  private gcMs = 0;
  private readonly gcPauses = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcMs += entry.duration;
  });

  /** Call for every record (or batch) handled; only the first call counts. */
  start(at = performance.now()): void {
    if (this.startedAt !== undefined) return;
    this.startedAt = at;
    this.meter = new CpuMeter({}, { postgres: 'postgres' });
    this.eventLoop = performance.eventLoopUtilization();
    this.gcPauses.observe({ entryTypes: ['gc'] });
  }

  finish(at = performance.now()): Drain {
    if (this.startedAt === undefined || !this.meter) throw new Error('no record was handled');
    // Entries still queued for the observer's callback are taken here, so none is lost.
    for (const entry of this.gcPauses.takeRecords()) this.gcMs += entry.duration;
    this.gcPauses.disconnect();
    return { elapsedMs: at - this.startedAt, cpu: this.meter.stop(), eventLoopBusy: performance.eventLoopUtilization(this.eventLoop).utilization, gcMs: this.gcMs };
  }
}

export interface RuntimeDrainOptions {
  kafka: Kafka;
  prisma: PrismaClient;
  logger: Logger;
  prefix: string;
  /** The consumer group's name (its topics are made under `prefix`). */
  group: string;
  handlers: EventHandlers;
  /** Events to wait for: committed as processed, or skipped as duplicates. */
  events: number;
  partitionsConcurrently?: number;
  timeoutMs: number;
  /** Called once, with the runtime, before it starts. */
  onRuntime?: (runtime: ConsumerGroupRuntime) => void;
}

/**
 * Runs a ConsumerGroupRuntime until it has committed `events` events
 * (counted by its own processed and duplicate metrics), then stops it. The
 * handlers call `clock.start()` to mark the first event.
 */
export async function drainWithRuntime(options: RuntimeDrainOptions, clock: DrainClock): Promise<{ drain: Drain; metrics: ConsumerMetrics }> {
  const { kafka, prefix, group } = options;
  // The runtime also subscribes to its group's retry tiers; they must exist.
  await createTopics(
    kafka,
    prefix,
    retryTierDelaysMs.map((_, index) => ({ name: retryTopic(group, index + 1), partitions: 3, retentionMs: 3_600_000, description: 'bench retry tier' })),
  );
  const metrics = new ConsumerMetrics();
  const runtime = new ConsumerGroupRuntime({
    group,
    kafka,
    prisma: options.prisma,
    logger: options.logger,
    metrics,
    topicPrefix: prefix,
    partitionsConcurrently: options.partitionsConcurrently,
    handlers: options.handlers,
  });
  options.onRuntime?.(runtime);
  const completed = async () => {
    const [processed, duplicates] = await Promise.all([metrics.processed.get(), metrics.duplicates.get()]);
    return [...processed.values, ...duplicates.values].reduce((sum, value) => sum + value.value, 0);
  };
  let done = 0;
  try {
    await runtime.start();
    await waitFor(
      async () => {
        done = await completed();
        return done >= options.events;
      },
      { timeoutMs: options.timeoutMs, intervalMs: 5, what: `${group} to drain its topic`, progress: () => `${done}/${options.events} completed` },
    );
    return { drain: clock.finish(), metrics };
  } finally {
    await runtime.stop();
  }
}
