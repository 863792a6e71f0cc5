import type { Admin, Kafka } from 'kafkajs';
import type { PipelineConfig } from '@video-pipeline/config';
import { ProcessedEvents, WaitingRoom } from '@video-pipeline/consumer';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { consumerGroups, type ConsumerGroupName } from '@video-pipeline/events';
import { groupTopics } from '@video-pipeline/kafka';
import type { Output } from './output';

/** What every command gets: configuration, a connected admin client, and where to write. */
export interface OpsContext {
  config: PipelineConfig;
  kafka: Kafka;
  admin: Admin;
  out: Output;
}

/** A usage mistake: exit code 2 and the message, no stack trace. */
export class UsageError extends Error {
  readonly code = 'usage';
}

/** An operation refused for safety (e.g. resetting an active group): exit code 3. */
export class RefusedError extends Error {
  readonly code = 'refused';
}

export function parseGroup(name: string | undefined): ConsumerGroupName {
  if (!name || !consumerGroups.includes(name as ConsumerGroupName)) {
    throw new UsageError(`name a consumer group: ${consumerGroups.join(', ')}`);
  }
  return name as ConsumerGroupName;
}

/** The Kafka group id and the topics a pipeline group consumes: its events and (also listed apart) its retry tiers. */
export function groupTopology(context: Pick<OpsContext, 'config'>, group: ConsumerGroupName): { groupId: string; topics: string[]; retryTopics: string[] } {
  const prefix = context.config.kafka.topicPrefix;
  const { eventTopics, retryTopics } = groupTopics(group);
  const prefixed = (topics: string[]) => topics.map((topic) => prefix + topic);
  return { groupId: prefix + group, topics: prefixed([...eventTopics, ...retryTopics]), retryTopics: prefixed(retryTopics) };
}

/** Runs `work` on a database connection of its own that is closed after. */
export async function withDatabase<T>(context: Pick<OpsContext, 'config'>, work: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  const prisma = createPrismaClient({ databaseUrl: context.config.database.url, poolMax: 1 });
  try {
    return await work(prisma);
  } finally {
    await prisma.$disconnect();
  }
}

/** Runs `work` on a group's waiting room. */
export function withWaitingRoom<T>(context: Pick<OpsContext, 'config'>, groupId: string, work: (room: WaitingRoom) => Promise<T>): Promise<T> {
  return withDatabase(context, (prisma) => work(new WaitingRoom(prisma, groupId)));
}

/** Runs `work` on a group's idempotency records. */
export function withProcessedEvents<T>(context: Pick<OpsContext, 'config'>, groupId: string, work: (records: ProcessedEvents) => Promise<T>): Promise<T> {
  return withDatabase(context, (prisma) => work(new ProcessedEvents(prisma, groupId)));
}
