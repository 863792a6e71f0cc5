import type { Logger } from '@video-pipeline/logging';

/**
 * On the first SIGTERM or SIGINT, runs `stop` (which lets in-flight work
 * finish) and exits 0; exits 1 if stopping fails. Later signals are ignored:
 * the supervisor decides when to stop waiting.
 */
export function stopOnSignals(logger: Logger, what: string, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `stopping: ${what}`);
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'could not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
