import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs on stdout, one line per event, so any collector can
 * parse them. `service` is on every line; child loggers add context such as
 * the event id, video id and consumer group.
 *
 * Lines are written as they are logged. pino's default buffers them and
 * flushes at exit, and that flush retries a write to a closed stdout for
 * ever: a service whose log reader had died could then never exit, not even
 * after a clean stop.
 */
export function createLogger(service: string, options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const loggerOptions: LoggerOptions = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(loggerOptions, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
