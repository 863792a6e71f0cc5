import { PipelineError } from '@video-pipeline/errors';

/** Who hears about an attempt the limit abandons. */
export interface AbandonedAttemptListener {
  /** The attempt ran out of time: its work should stop. */
  abandoned(error: PipelineError): void;
  /** The abandoned attempt settled after all, `ms` after it started; what it gave is dropped. */
  settledLate(ms: number): void;
}

/**
 * Bounds how long one attempt of a handler may run. Past the limit the
 * attempt is abandoned: the runtime stops waiting for it (it fails with
 * `handler_timeout`) and its listener is told, to abort its signal.
 * JavaScript cannot stop a promise, so a handler that ignores its signal runs
 * on; what it returns is dropped.
 *
 * Most attempts take microseconds, and a timer each would cost the consumer
 * more than the rest of its bookkeeping: a sweep instead gives an exact
 * timer only to attempts still running when it passes, and sweeps at least
 * once per limit, so none can outlive its limit unseen.
 */
export class HandlerTimeLimit {
  private readonly lanes = new Set<AttemptLane>();
  private sweeper?: NodeJS.Timeout;

  constructor(
    readonly limitMs: number,
    private readonly sweepEveryMs: number,
  ) {}

  /** Sweeps until `stop()`. */
  start(): void {
    this.sweeper ??= setInterval(() => this.sweep(), Math.min(this.sweepEveryMs, this.limitMs)).unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const lane of this.lanes) lane.disarm();
  }

  /** A lane for attempts that run one at a time (a batch's); `close()` it when the batch ends. */
  lane(): AttemptLane {
    const lane = new AttemptLane(this.limitMs, (closed) => this.lanes.delete(closed));
    this.lanes.add(lane);
    return lane;
  }

  private sweep(): void {
    const now = performance.now();
    for (const lane of this.lanes) lane.arm(now);
  }
}

/**
 * Where one batch's attempts run, one at a time. Its state is reused from
 * attempt to attempt, so an attempt allocates little more than its promise:
 * this runs for every event.
 */
export class AttemptLane {
  private work?: Promise<unknown>;
  private startedAt = 0;
  private listener?: AbandonedAttemptListener;
  private resolve?: (value: unknown) => void;
  private reject?: (error: unknown) => void;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly limitMs: number,
    private readonly onClose: (lane: AttemptLane) => void,
  ) {}

  /** Settles as `work` does, or fails with `handler_timeout` once it has run the limit since `startedAt`. */
  run<T>(work: Promise<T>, listener: AbandonedAttemptListener, startedAt: number): Promise<T> {
    this.work = work;
    this.startedAt = startedAt;
    this.listener = listener;
    const outcome = new Promise<T>((resolve, reject) => {
      this.resolve = resolve as (value: unknown) => void;
      this.reject = reject;
    });
    work.then(
      (value) => this.settle(work)?.resolve?.(value),
      (error: unknown) => this.settle(work)?.reject?.(error),
    );
    return outcome;
  }

  /** The lane, if `work` is its current attempt (not abandoned): that attempt is over. */
  private settle(work: Promise<unknown>): this | undefined {
    if (this.work !== work) return undefined;
    this.work = undefined;
    this.disarm();
    return this;
  }

  /** Gives a running attempt its exact timer, once. */
  arm(now: number): void {
    if (!this.work || this.timer) return;
    const work = this.work;
    this.timer = setTimeout(() => this.abandon(work), Math.max(0, this.startedAt + this.limitMs - now)).unref();
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.disarm();
    this.onClose(this);
  }

  private abandon(work: Promise<unknown>): void {
    const { listener, reject, startedAt } = this;
    if (!this.settle(work) || !listener || !reject) return;
    const error = new PipelineError('handler_timeout', `the handler ran past its limit of ${this.limitMs} ms (handlerTimeoutMs) and was abandoned; its signal is aborted`);
    listener.abandoned(error);
    reject(error);
    const settledLate = () => listener.settledLate(performance.now() - startedAt);
    work.then(settledLate, settledLate);
  }
}
