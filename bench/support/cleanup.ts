/**
 * Undo steps registered as resources are acquired, run in reverse order
 * whether the work succeeded or failed. A failing step does not stop the
 * others and never hides the work's own error; it is reported on stderr.
 */
export class Cleanup {
  private readonly steps: { what: string; undo: () => unknown }[] = [];

  /** Registers `undo` to run at the end; `what` names it in failure messages. */
  defer(what: string, undo: () => unknown): void {
    this.steps.push({ what, undo });
  }

  /** Runs every step, newest first; returns the failures. */
  async run(): Promise<Error[]> {
    const failures: Error[] = [];
    while (this.steps.length > 0) {
      const { what, undo } = this.steps.pop()!;
      try {
        await undo();
      } catch (error) {
        const failure = new Error(`cleanup "${what}" failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        process.stderr.write(`[bench] ${failure.message}\n`);
        failures.push(failure);
      }
    }
    return failures;
  }
}

/** Runs `work` with a Cleanup that always runs afterwards. */
export async function withCleanup<T>(work: (cleanup: Cleanup) => Promise<T>): Promise<T> {
  const cleanup = new Cleanup();
  try {
    return await work(cleanup);
  } finally {
    await cleanup.run();
  }
}
