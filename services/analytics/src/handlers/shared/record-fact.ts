import type { Effects, HandlerContext } from '@video-pipeline/consumer';
import type { CloudEvent, EventType } from '@video-pipeline/events';

/** What one event tells analytics, besides who, what and when. */
export interface FactFields {
  stage?: 'transcode' | 'thumbnails' | 'moderation';
  outcome?: string;
  reasonCode?: string;
  sizeBytes?: number;
  sourceSeconds?: number;
  durationMs?: number;
}

/**
 * Effects that record one fact per event id for this group (the consumer
 * runtime runs them once per id; the key (group, event id) says so again).
 * Times come from the event, never the clock: a replay writes the same fact.
 */
export function recordFact<T extends EventType>(event: CloudEvent<T>, context: HandlerContext, fields: FactFields): Effects {
  const data = event.data as { videoId: string; ownerId: string };
  return async (tx) => {
    await tx.analyticsFact.createMany({
      data: [
        {
          consumerGroup: context.groupId,
          eventId: event.id,
          eventType: event.type,
          videoId: data.videoId,
          ownerId: data.ownerId,
          occurredAt: new Date(event.time),
          stage: fields.stage,
          outcome: fields.outcome,
          reasonCode: fields.reasonCode,
          sizeBytes: fields.sizeBytes === undefined ? undefined : BigInt(fields.sizeBytes),
          sourceSeconds: fields.sourceSeconds,
          durationMs: fields.durationMs === undefined ? undefined : BigInt(Math.max(0, Math.round(fields.durationMs))),
        },
      ],
      skipDuplicates: true,
    });
  };
}

/** Milliseconds from one ISO time to another; undefined when the first is missing. */
export function msBetween(from: string | undefined, to: string): number | undefined {
  return from === undefined ? undefined : Date.parse(to) - Date.parse(from);
}
