import { createKafka, ensureTopics, type TopicSpec } from '@video-pipeline/kafka';
import { testLogger } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

describe('ensureTopics', () => {
  const prefix = uniquePrefix('topics');
  const admin = createKafka(testConfig(prefix).kafka, testLogger()).admin();
  const specs: TopicSpec[] = [
    { name: 'a', partitions: 2, retentionMs: 3_600_000, description: 'a' },
    { name: 'b', partitions: 1, retentionMs: -1, description: 'b' },
  ];

  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it('creates what is missing with its partitions and retention, then nothing, then grows partitions', async () => {
    expect(await ensureTopics(admin, specs, prefix)).toEqual({ created: [`${prefix}a`, `${prefix}b`], grown: [] });
    const metadata = await admin.fetchTopicMetadata({ topics: [`${prefix}a`] });
    expect(metadata.topics[0]!.partitions).toHaveLength(2);
    const configs = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: `${prefix}a`, configNames: ['retention.ms'] }] });
    expect(configs.resources[0]!.configEntries[0]!.configValue).toBe('3600000');

    expect(await ensureTopics(admin, specs, prefix)).toEqual({ created: [], grown: [] });

    const more = specs.map((spec) => (spec.name === 'b' ? { ...spec, partitions: 3 } : spec));
    expect(await ensureTopics(admin, more, prefix)).toEqual({ created: [], grown: [`${prefix}b`] });
    expect((await admin.fetchTopicOffsets(`${prefix}b`)).length).toBe(3);
  });
});
