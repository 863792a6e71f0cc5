import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../../test/support/pipeline';
import { appliedEffects, counterValue, processedEventIds, recordingHandler, useTestbeds, videoUploaded } from './support/harness';

describe('events for one key are handled in order', () => {
  const testbed = useTestbeds();

  it.each([
    ['the default commit delay', 50],
    ['a commit after nearly every event', 1],
  ])('handles each key in publication order, each event only after the previous one of its key is committed (%s)', async (_, maxCommitDelayMs) => {
    const bed = await testbed('ordering', { sourcePartitions: 6 });
    const videos = Array.from({ length: 8 }, () => randomUUID());
    // Interleaved: v1#1, v2#1, ..., v1#2, v2#2, ...: every partition holds several keys.
    const events = Array.from({ length: 15 }, () => videos.map((videoId) => videoUploaded({ videoId }))).flat();
    const previous = new Map<string, string>(); // event id -> the id of the event before it for the same video
    const lastOfVideo = new Map<string, string>();
    for (const event of events) {
      const before = lastOfVideo.get(event.subject);
      if (before) previous.set(event.id, before);
      lastOfVideo.set(event.subject, event.id);
    }

    const uncommittedPredecessors: string[] = [];
    const handler = recordingHandler(async (event, context) => {
      const before = previous.get(event.id);
      if (before && (await appliedEffects(bed.prisma, context.groupId, before)).length === 0) uncommittedPredecessors.push(event.id);
      await sleep(Math.floor(Math.random() * 4)); // uneven work, so partitions interleave differently each run
    });
    const runtime = await bed.runtime({ handlers: handler.handlers, partitionsConcurrently: 3, maxCommitDelayMs });

    await bed.publish(events);
    await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length === events.length, 30_000, 'every event to be processed');
    await runtime.stop();

    for (const videoId of videos) {
      const published = events.filter((event) => event.subject === videoId).map((event) => event.id);
      const handled = handler.calls.filter((call) => call.videoId === videoId).map((call) => call.eventId);
      expect(handled).toEqual(published);
    }
    expect(uncommittedPredecessors).toEqual([]);
    expect(await appliedEffects(bed.prisma, bed.groupId)).toHaveLength(events.length);
    expect(await counterValue(runtime.metrics.processed, { group: bed.groupId, type: 'video.uploaded' })).toBe(events.length);
  });
});
