import type { Admin } from 'kafkajs';

/** What the relay asks before publishing: which of these topics the broker does not have. */
export interface TopicCheck {
  missing(topics: readonly string[]): Promise<string[]>;
}

/**
 * The broker's topics, as its admin lists them: kept, and listed again
 * whenever a topic not seen before comes up (so a topic created since is
 * found). The relay never creates topics: they are declared and created
 * with their partitions and retention (libs/kafka's topology).
 */
export class BrokerTopics implements TopicCheck {
  private known = new Set<string>();
  private connected = false;

  constructor(private readonly admin: Admin) {}

  async missing(topics: readonly string[]): Promise<string[]> {
    const unseen = [...new Set(topics)].filter((topic) => !this.known.has(topic));
    if (unseen.length === 0) return [];
    if (!this.connected) {
      await this.admin.connect();
      this.connected = true;
    }
    this.known = new Set(await this.admin.listTopics());
    return unseen.filter((topic) => !this.known.has(topic));
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
    this.connected = false;
  }
}
