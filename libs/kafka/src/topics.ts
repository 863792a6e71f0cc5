import type { Admin } from 'kafkajs';
import { retry, type BackoffPolicy } from '@video-pipeline/retry';
import type { TopicSpec } from './topology';

export interface TopicChanges {
  created: string[];
  /** Topics whose partition count was raised to match the spec. */
  grown: string[];
}

/**
 * Makes the broker's topics match the specs: creates missing ones and raises
 * partition counts (Kafka cannot lower them; a lower spec is left alone).
 *
 * kafkajs' wait for the new topics' leaders tolerates LEADER_NOT_AVAILABLE
 * only, but a busy broker also answers UNKNOWN_TOPIC_OR_PARTITION for a
 * moment about a topic it has just created; that answer is retried, which is
 * safe because each attempt only does what is still missing.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], prefix = '', attempts = 5): Promise<TopicChanges> {
  const before = new Set(await admin.listTopics());
  const { grown } = await retry(() => reconcileTopics(admin, specs, prefix), {
    attempts,
    backoff: settlingBackoff,
    retriable: (error) => (error as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION',
  });
  const after = new Set(await admin.listTopics());
  const created = specs.map((spec) => prefix + spec.name).filter((name) => after.has(name) && !before.has(name));
  return { created, grown };
}

/** How long a broker takes to agree with itself about a topic it has just created or grown: moments. */
const settlingBackoff: BackoffPolicy = { initialMs: 200, maxMs: 1_000, multiplier: 2, jitter: 0 };

async function reconcileTopics(admin: Admin, specs: readonly TopicSpec[], prefix: string): Promise<TopicChanges> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(prefix + spec.name));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: prefix + spec.name,
        numPartitions: spec.partitions,
        replicationFactor: 1,
        configEntries: [{ name: 'retention.ms', value: String(spec.retentionMs) }],
      })),
    });
    await Promise.all(missing.map((spec) => untilPartitionsServe(admin, prefix + spec.name)));
  }

  const present = specs.filter((spec) => existing.has(prefix + spec.name));
  const grown: string[] = [];
  if (present.length > 0) {
    const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => prefix + spec.name) });
    const toGrow = present.filter((spec) => {
      const topic = metadata.topics.find((t) => t.name === prefix + spec.name);
      return topic !== undefined && topic.partitions.length < spec.partitions;
    });
    if (toGrow.length > 0) {
      await admin.createPartitions({ topicPartitions: toGrow.map((spec) => ({ topic: prefix + spec.name, count: spec.partitions })) });
      grown.push(...toGrow.map((spec) => prefix + spec.name));
      await Promise.all(grown.map((topic) => untilPartitionsServe(admin, topic)));
    }
  }
  return { created: missing.map((spec) => prefix + spec.name), grown };
}

/**
 * New partitions take a moment to get a serving leader, even once metadata
 * names one; until then clients get NOT_LEADER_FOR_PARTITION. A produce that
 * gets it for one partition is retried whole by kafkajs, so the records of
 * the partitions that took it are written twice.
 */
async function untilPartitionsServe(admin: Admin, topic: string): Promise<void> {
  await retry(() => admin.fetchTopicOffsets(topic), { attempts: 25, backoff: { initialMs: 200, maxMs: 200, multiplier: 1, jitter: 0 }, retriable: (error) => (error as { retriable?: boolean }).retriable === true });
}
