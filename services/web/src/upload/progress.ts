/**
 * Speed and time left of a transfer, from the bytes sent over the last few
 * seconds (a moving window, so a stall shows at once and a burst fades).
 * The clock is passed in.
 */
export class TransferRate {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(
    private readonly windowMs = 3_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  record(bytesSent: number): void {
    const at = this.now();
    this.samples.push({ at, bytes: bytesSent });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window, or null before there are two samples apart in time. */
  bytesPerSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at <= first.at) return null;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }

  /** Seconds left for `total` bytes at the current speed, or null when unknown. */
  secondsLeft(total: number): number | null {
    const speed = this.bytesPerSecond();
    const last = this.samples.at(-1);
    if (!speed || !last) return null;
    return Math.max(0, (total - last.bytes) / speed);
  }
}
