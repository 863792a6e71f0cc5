import type { PipelineConfig } from '@video-pipeline/config';
import { MIGRATIONS_DIR, applyMigrations } from '@video-pipeline/db';
import { createKafka, ensureTopics, topicSpecs } from '@video-pipeline/kafka';
import { createLogger } from '@video-pipeline/logging';
import { ObjectStorage, createS3Client } from '@video-pipeline/storage';

/**
 * Brings the pipeline's own state up to date, idempotently: database
 * migrations, Kafka topics from the declarative topology, and the bucket.
 */
export async function setupPipeline(config: PipelineConfig, log: (message: string) => void): Promise<void> {
  const migrations = await applyMigrations({ databaseUrl: config.database.url, migrationsDir: MIGRATIONS_DIR });
  log(migrations.appliedMigrationNames.length > 0 ? `applied migrations: ${migrations.appliedMigrationNames.join(', ')}` : 'database schema is up to date');

  const admin = createKafka(config.kafka, createLogger('setup', { level: 'error' })).admin();
  await admin.connect();
  try {
    const changes = await ensureTopics(admin, topicSpecs, config.kafka.topicPrefix);
    if (changes.created.length > 0) log(`created ${changes.created.length} topics`);
    if (changes.grown.length > 0) log(`added partitions to ${changes.grown.join(', ')}`);
  } finally {
    await admin.disconnect();
  }

  await new ObjectStorage(createS3Client(config.storage), config.storage.bucket).ensureBucket();
  log(`bucket "${config.storage.bucket}" is ready`);
}
