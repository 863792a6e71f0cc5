import type { Logger } from '@video-pipeline/logging';

/**
 * On the first SIGTERM or SIGINT, runs `stop` (which lets in-flight work
 * finish); resolves once it has, and rejects if it failed. Later signals
 * are ignored: the supervisor decides when to stop waiting. Exiting is left
 * to the service's `main`.
 */
export function stopOnSignals(logger: Logger, what: string, stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, `stopping: ${what}`);
      stop().then(
        () => {
          logger.info('stopped');
          resolve();
        },
        (error: unknown) => {
          logger.error({ err: error }, 'could not stop cleanly');
          reject(error);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
