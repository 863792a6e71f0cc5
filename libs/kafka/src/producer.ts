import { Partitioners, type Kafka, type Producer, type ProducerConfig } from 'kafkajs';

/**
 * A producer that never creates topics, keeps one request in flight per
 * broker (so a retried send cannot overtake the next one and reorder a
 * partition), and partitions by key exactly like the Java client (murmur2),
 * so consumers in any language agree on where a video's events live.
 */
export function createProducer(kafka: Kafka, overrides: Partial<ProducerConfig> = {}): Producer {
  return kafka.producer({
    allowAutoTopicCreation: false,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...overrides,
  });
}
