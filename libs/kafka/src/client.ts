import { Kafka, logLevel as KafkaLogLevel, type KafkaConfig as KafkajsConfig, type LogEntry } from 'kafkajs';
import type { KafkaConfig } from '@video-pipeline/config';
import type { Logger } from '@video-pipeline/logging';
import './request-queue-timer';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** A kafkajs client whose logs go through our structured logger. */
export function createKafka(config: KafkaConfig, logger: Logger, overrides: Partial<KafkajsConfig> = {}): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    // kafkajs logs every reconnect at ERROR; WARN keeps outages visible without flooding.
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, namespace, log }: LogEntry) => {
        const { message, ...extra } = log;
        kafkaLogger[isThrownResponseError(namespace, message) ? 'debug' : (levels[level] ?? 'info')]({ namespace, ...extra }, message);
      },
    // kafkajs' 1 s is too short on a busy machine: the API logged connection time-outs at start before it got through.
    connectionTimeout: config.connectionTimeoutMs,
    retry: { initialRetryTime: 300, retries: 8 },
    ...overrides,
  });
}

/**
 * kafkajs logs every error response at ERROR where it reads it, then throws
 * it to its caller, which retries it or reports it: a new topic's partitions
 * alone gave a fresh `npm start` a screenful of "not the leader" lines while
 * their leaders settled. The caller's word is the one that counts.
 */
const isThrownResponseError = (namespace: string, message: string) => namespace === 'Connection' && message.startsWith('Response ');
