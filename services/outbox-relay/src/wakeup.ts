/**
 * A resettable signal: `wait(ms)` resolves on the next `wake()` or after
 * `ms`, whichever comes first. A wake with nobody waiting is remembered, so a
 * notification that lands while a batch is being published is not lost.
 */
export class Wakeup {
  private pending = false;
  private release?: () => void;

  wake(): void {
    if (this.release) this.release();
    else this.pending = true;
  }

  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.release = undefined;
        resolve();
      }
      this.release = done;
    });
  }
}
