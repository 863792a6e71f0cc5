import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one worker process, labelled by consumer group and event type. */
export class ConsumerMetrics {
  readonly registry: Registry;
  readonly processed: Counter<'group' | 'type'>;
  readonly duplicates: Counter<'group' | 'type'>;
  readonly failed: Counter<'group' | 'type' | 'code'>;
  readonly retried: Counter<'group' | 'type' | 'tier'>;
  readonly deadLettered: Counter<'group' | 'type' | 'code'>;
  readonly deadLetterHookFailed: Counter<'group' | 'type'>;
  readonly held: Counter<'group' | 'tier'>;
  readonly handlerDuration: Histogram<'group' | 'type' | 'outcome'>;
  readonly lag: Gauge<'group' | 'topic' | 'partition'>;
  readonly recordsPruned: Counter<'group'>;
  readonly lastPrune: Gauge<'group'>;

  constructor(registry = new Registry(), options: { defaultMetrics?: boolean } = {}) {
    this.registry = registry;
    if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
    const registers = [registry];
    this.processed = new Counter({ name: 'pipeline_events_processed_total', help: 'Events handled successfully (side effects committed).', labelNames: ['group', 'type'], registers });
    this.duplicates = new Counter({ name: 'pipeline_events_duplicate_total', help: 'Events skipped because the group had already processed their id.', labelNames: ['group', 'type'], registers });
    this.failed = new Counter({ name: 'pipeline_events_failed_total', help: 'Handler attempts that threw, or whose effects failed to commit.', labelNames: ['group', 'type', 'code'], registers });
    this.retried = new Counter({ name: 'pipeline_events_retried_total', help: 'Events moved to a retry tier.', labelNames: ['group', 'type', 'tier'], registers });
    this.deadLettered = new Counter({ name: 'pipeline_events_dead_lettered_total', help: 'Events parked in the dead-letter topic.', labelNames: ['group', 'type', 'code'], registers });
    this.deadLetterHookFailed = new Counter({ name: 'pipeline_dead_letter_hook_failed_total', help: 'Events parked without what their group records for a dead letter (its hook failed).', labelNames: ['group', 'type'], registers });
    this.held = new Counter({ name: 'pipeline_events_held_total', help: 'Events sent to (or kept in) a retry tier without running, to wait behind an earlier event of their video.', labelNames: ['group', 'tier'], registers });
    this.handlerDuration = new Histogram({
      name: 'pipeline_handler_duration_seconds',
      help: 'Time spent in one handler attempt.',
      labelNames: ['group', 'type', 'outcome'],
      // From a quick database write to a long transcode.
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 1800],
      registers,
    });
    this.lag = new Gauge({ name: 'pipeline_consumer_lag', help: 'Records behind the high watermark, per partition, as last seen by this instance.', labelNames: ['group', 'topic', 'partition'], registers });
    this.recordsPruned = new Counter({ name: 'pipeline_idempotency_records_pruned_total', help: 'Idempotency records (event ids) this instance deleted as too old to be needed.', labelNames: ['group'], registers });
    // Alert on its age: records grow for ever while pruning keeps failing.
    this.lastPrune = new Gauge({ name: 'pipeline_idempotency_last_prune_timestamp_seconds', help: 'When this instance last finished pruning its group\'s idempotency records (Unix time).', labelNames: ['group'], registers });
  }
}
