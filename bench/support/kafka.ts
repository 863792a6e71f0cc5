import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import { topicSpecs, type TopicSpec } from '@video-pipeline/kafka';

/** The pipeline's own `video.uploaded` topic spec (6 partitions). */
export const videoUploadedSpec: TopicSpec = topicSpecs.find((spec) => spec.name === 'video.uploaded')!;

/** A topic shaped like `video.uploaded` under another name, for baselines. */
export function topicLike(spec: TopicSpec, name: string): TopicSpec {
  return { ...spec, name, description: `bench: shaped like ${spec.name}` };
}

/** Connects a consumer in a group of its own, subscribes from the beginning and resolves once it has joined. */
export async function startConsumer(
  kafka: Kafka,
  config: ConsumerConfig,
  topics: string[],
  run: Parameters<Consumer['run']>[0],
): Promise<Consumer> {
  const consumer = kafka.consumer(config);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run(run);
    await joined;
    return consumer;
  } catch (error) {
    await consumer.disconnect().catch(() => undefined);
    throw error;
  }
}

/** Polls `done` every `intervalMs` until it is true; fails after `timeoutMs` with `what` and `progress()` in the message. */
export async function waitFor(done: () => boolean | Promise<boolean>, options: { timeoutMs: number; intervalMs?: number; what: string; progress?: () => string }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${options.progress ? ` (${options.progress()})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 10));
  }
}
