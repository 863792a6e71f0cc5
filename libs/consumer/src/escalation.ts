import type { IHeaders, Producer } from 'kafkajs';
import { isDatabaseUnavailable, type PrismaClient } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { deadLetterTopic, deliveryHeaders, headerString, originalHeaders, retryTopic, type EventType } from '@video-pipeline/events';
import { withJitter, type Clock, type Random } from '@video-pipeline/retry';
import type { Delivery } from './delivery';
import type { FailureVerdict } from './failure';
import { deadLetterHookOf, type EventHandlers } from './handlers';
import type { ConsumerMetrics } from './metrics';
import type { RetryPolicy } from './retry-policy';
import type { WaitingRoom } from './waiting-room';

export interface EscalationParts {
  /** The group's name, e.g. `transcoder`: names its topics. */
  group: string;
  /** The Kafka group id (the name, prefixed). */
  groupId: string;
  topicPrefix: string;
  producer: Producer;
  waitingRoom: WaitingRoom;
  metrics: ConsumerMetrics;
  retryPolicy: RetryPolicy;
  clock: Clock;
  random: Random;
  /** Their `deadLettered` hooks run before an event of their type is parked. */
  handlers: EventHandlers;
  prisma: PrismaClient;
  /** How long a hook's transaction may take. */
  commitTimeoutMs: number;
}

/**
 * Where an event goes when it cannot be done here and now: the next retry
 * tier, the dead-letter topic, or (if an earlier event of its video waits in
 * the tiers) a tier to wait in. The record is re-published as it came, with
 * its first origin, the attempts so far and the last failure in headers
 * (`deliveryHeaders`), so a replay is byte for byte the event first published.
 */
export class Escalation {
  constructor(private readonly parts: EscalationParts) {}

  get deadLetterTopic(): string {
    return this.parts.topicPrefix + deadLetterTopic(this.parts.group);
  }

  /**
   * After a failed attempt: the next retry tier, or the dead-letter topic if
   * the failure is permanent or the tiers are used up. An event leaving its
   * own topic for the tiers takes a place in its video's queue first, so the
   * video's later events wait behind it.
   */
  async afterFailure(delivery: Delivery, verdict: FailureVerdict): Promise<void> {
    const { source } = delivery;
    const nextTier = source.tier + 1;
    if (!verdict.retriable || nextTier > this.parts.retryPolicy.tierDelaysMs.length) return this.deadLetter(delivery, verdict);
    if (source.tier === 0) {
      await this.parts.waitingRoom.enqueue(delivery.placeInOwnTopic(), delivery.eventId);
      source.hold(delivery.key);
    }
    await this.toTier(delivery, nextTier, verdict);
    this.parts.metrics.retried.inc({ group: this.parts.groupId, type: delivery.type, tier: String(nextTier) });
    delivery.logger.info({ attempt: delivery.attempts, tier: nextTier }, 'moved to retry tier');
  }

  /**
   * Sends an event whose video is held to wait in a retry tier: the next
   * one, or the last one again. No attempt is counted: it has not run.
   */
  async waitBehind(delivery: Delivery): Promise<void> {
    const tier = Math.min(delivery.source.tier + 1, this.parts.retryPolicy.tierDelaysMs.length);
    await this.toTier(delivery, tier);
    this.parts.metrics.held.inc({ group: this.parts.groupId, tier: String(tier) });
  }

  /**
   * Parks the event in the dead-letter topic; its video's later events, if
   * they wait behind it, go on. First its handler's `deadLettered` hook
   * records it (in its own transaction).
   */
  async deadLetter(delivery: Delivery, verdict: FailureVerdict): Promise<void> {
    const { groupId, metrics, clock } = this.parts;
    await this.runDeadLetterHook(delivery, verdict);
    await this.forward(this.deadLetterTopic, delivery, verdict, {
      [deliveryHeaders.group]: groupId,
      [deliveryHeaders.failedAt]: new Date(clock.now()).toISOString(),
    });
    await delivery.done();
    metrics.deadLettered.inc({ group: groupId, type: delivery.type, code: verdict.code });
    delivery.logger.warn({ attempts: delivery.attempts, code: verdict.code, error: verdict.message }, 'parked in the dead-letter topic');
  }

  /**
   * The group's record of a dead letter. The database away is no event's
   * fault: the batch pauses and the event comes again, not parked yet. A hook
   * that fails otherwise is logged and counted, and the event is parked even
   * so: a broken hook must not hold its partition.
   */
  private async runDeadLetterHook(delivery: Delivery, verdict: FailureVerdict): Promise<void> {
    const { event } = delivery;
    const hook = event && deadLetterHookOf<EventType>(this.parts.handlers[event.type]);
    if (!event || !hook) return;
    const { prisma, commitTimeoutMs, metrics, groupId } = this.parts;
    try {
      await prisma.$transaction(hook(event, { code: verdict.code, message: verdict.message }), { timeout: commitTimeoutMs, maxWait: commitTimeoutMs });
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw new PipelineError('database_unavailable', `could not record the dead letter of event ${event.id}: the database is unavailable; it will be delivered again`, { cause: error });
      metrics.deadLetterHookFailed.inc({ group: groupId, type: event.type });
      delivery.logger.error({ err: error }, 'the dead-letter hook failed; parking the event without its record');
    }
  }

  /** Re-publishes the event to retry tier `tier`, due after the tier's delay; without a verdict (it did not fail) it carries no error. */
  private async toTier(delivery: Delivery, tier: number, verdict?: FailureVerdict): Promise<void> {
    const { topicPrefix, group, retryPolicy, clock, random } = this.parts;
    const delayMs = withJitter(retryPolicy.tierDelaysMs[tier - 1]!, retryPolicy.tierJitter, random);
    await this.forward(topicPrefix + retryTopic(group, tier), delivery, verdict, {
      [deliveryHeaders.tier]: String(tier),
      [deliveryHeaders.retryAt]: String(clock.now() + delayMs),
    });
  }

  private async forward(topic: string, delivery: Delivery, verdict: FailureVerdict | undefined, extra: IHeaders): Promise<void> {
    const { message } = delivery;
    await this.parts.producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            ...originalHeaders(message.headers),
            ...originOf(delivery),
            [deliveryHeaders.attempts]: String(delivery.attempts),
            ...(verdict ? { [deliveryHeaders.errorCode]: verdict.code, [deliveryHeaders.errorMessage]: truncate(verdict.message) } : {}),
            ...extra,
          },
        },
      ],
    });
  }
}

/** Where the record was first published: its own place, or in a retry tier the one it carries. */
function originOf({ message, source }: Delivery): IHeaders {
  const kept = (name: string, own: string) => (source.tier > 0 ? (headerString(message.headers, name) ?? own) : own);
  return {
    [deliveryHeaders.originalTopic]: kept(deliveryHeaders.originalTopic, source.topic),
    [deliveryHeaders.originalPartition]: kept(deliveryHeaders.originalPartition, String(source.partition)),
    [deliveryHeaders.originalOffset]: kept(deliveryHeaders.originalOffset, message.offset),
  };
}

const truncate = (text: string, max = 2_000) => (text.length > max ? `${text.slice(0, max)}…` : text);
