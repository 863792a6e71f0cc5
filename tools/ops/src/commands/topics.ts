import { topicSpecs } from '@video-pipeline/kafka';
import type { OpsContext } from '../context';
import { table } from '../output';

interface TopicRow {
  topic: string;
  exists: boolean;
  partitions: number;
  declaredPartitions: number;
  retentionMs?: number;
  records: number;
  description: string;
}

/** `ops topics`: the declared topics as the broker has them: partitions, retention, records. */
export async function describeTopics(context: OpsContext): Promise<void> {
  const prefix = context.config.kafka.topicPrefix;
  const existing = new Set(await context.admin.listTopics());
  const rows: TopicRow[] = [];
  for (const spec of topicSpecs) {
    const name = prefix + spec.name;
    if (!existing.has(name)) {
      rows.push({ topic: name, exists: false, partitions: 0, declaredPartitions: spec.partitions, retentionMs: undefined, records: 0, description: spec.description });
      continue;
    }
    const offsets = await context.admin.fetchTopicOffsets(name);
    const configs = await context.admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2 /* TOPIC */, name, configNames: ['retention.ms'] }] });
    const retention = configs.resources[0]?.configEntries.find((entry) => entry.configName === 'retention.ms')?.configValue;
    rows.push({
      topic: name,
      exists: true,
      partitions: offsets.length,
      declaredPartitions: spec.partitions,
      retentionMs: retention === undefined ? undefined : Number(retention),
      records: offsets.reduce((sum, partition) => sum + Number(BigInt(partition.high) - BigInt(partition.low)), 0),
      description: spec.description,
    });
  }
  context.out.result(rows, () =>
    table(
      ['TOPIC', 'PARTITIONS', 'RETENTION', 'RECORDS', 'NOTE'],
      rows.map((row) => [
        row.topic,
        row.exists ? (row.partitions === row.declaredPartitions ? row.partitions : `${row.partitions} (declared ${row.declaredPartitions})`) : `missing (declared ${row.declaredPartitions})`,
        row.retentionMs === undefined ? undefined : humanDuration(row.retentionMs),
        row.records,
        row.description,
      ]),
    ),
  );
}

function humanDuration(ms: number): string {
  if (ms < 0) return 'forever';
  const days = ms / 86_400_000;
  return days >= 1 ? `${+days.toFixed(1)}d` : `${+(ms / 3_600_000).toFixed(1)}h`;
}
