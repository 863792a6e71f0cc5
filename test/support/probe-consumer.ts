import type { Kafka, KafkaMessage } from 'kafkajs';

export interface ReceivedRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
  receivedAt: number;
}

/** A plain kafkajs consumer in a group of its own that keeps every record it sees. */
export async function startProbeConsumer(kafka: Kafka, topic: string, groupId: string) {
  const received: ReceivedRecord[] = [];
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ topic: from, partition, message }) => {
      received.push({ topic: from, partition, message, receivedAt: Date.now() });
    },
  });
  await joined;
  return { received, stop: () => consumer.disconnect() };
}

export function headersAsStrings(message: KafkaMessage): Record<string, string> {
  return Object.fromEntries(Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(Array.isArray(value) ? value[0] : value)]));
}
