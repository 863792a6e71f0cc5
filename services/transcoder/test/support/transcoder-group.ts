import type { Kafka, Producer } from 'kafkajs';
import { ConsumerGroupRuntime } from '@video-pipeline/consumer';
import { toKafkaRecord, type CloudEvent } from '@video-pipeline/events';
import { createKafka, createProducer } from '@video-pipeline/kafka';
import { fastMembership, fastRetryPolicy, groupTopicSpecs } from '../../../../libs/consumer/test/support/harness';
import { MediaTestbed } from '../../../../test/support/media-testbed';
import { createTopics, testLogger } from '../../../../test/support/pipeline';
import { testConfig } from '../../../../test/support/test-env';
import { transcoderHandlers } from '../../src/handlers';

/**
 * The transcoder's consumer group on the real broker, database and S3
 * server: a media testbed, the group's topics and a producer of
 * `video.uploaded`; tests start transcoder instances in this process.
 */
export class TranscoderGroup {
  readonly bed: MediaTestbed;
  readonly prefix: string;
  readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly instances: ConsumerGroupRuntime[] = [];

  constructor(name: string) {
    this.bed = new MediaTestbed(name);
    this.prefix = this.bed.config.kafka.topicPrefix;
    this.kafka = createKafka(this.bed.config.kafka, testLogger());
    this.producer = createProducer(this.kafka);
  }

  async start(): Promise<void> {
    await this.bed.start();
    await Promise.all([createTopics(this.kafka, this.prefix, groupTopicSpecs('transcoder')), this.producer.connect()]);
  }

  publish(event: CloudEvent<'video.uploaded'>) {
    return this.producer.send({ topic: `${this.prefix}video.uploaded`, acks: -1, messages: [toKafkaRecord(event, this.prefix)] });
  }

  /** Starts a transcoder instance on the testbed's bucket and work folder; `env` adds to or overrides its configuration. */
  async startInstance(env: NodeJS.ProcessEnv = {}): Promise<ConsumerGroupRuntime> {
    const config = testConfig(this.prefix, { S3_BUCKET: this.bed.storage.bucket, MEDIA_TEMP_DIR: this.bed.tempDir, ...env });
    const instance = new ConsumerGroupRuntime({
      group: 'transcoder',
      handlers: transcoderHandlers({ config, prisma: this.bed.prisma, logger: testLogger() }),
      kafka: this.kafka,
      prisma: this.bed.prisma,
      logger: testLogger(),
      topicPrefix: this.prefix,
      retryPolicy: fastRetryPolicy,
      fetchMaxWaitMs: 100,
      ...fastMembership,
    });
    this.instances.push(instance);
    await instance.start();
    return instance;
  }

  async close(): Promise<void> {
    for (const instance of this.instances) await instance.stop();
    await this.producer.disconnect();
    await this.bed.close();
  }
}
