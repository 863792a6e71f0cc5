import { groupTopology, parseGroup, withWaitingRoom, type OpsContext } from '../context';
import { table } from '../output';

/**
 * `ops waiting <group> [--release VIDEO ...]`: the videos the group holds
 * back because one of their events waits in the retry tiers, with their
 * queued events (the first runs next). `--release` first empties the queues
 * of those videos, for events that are gone from the tiers and would hold
 * their video forever. Reads Postgres (DATABASE_URL).
 */
export async function showWaiting(context: Pick<OpsContext, 'config' | 'out'>, name: string | undefined, options: { release: string[] } = { release: [] }): Promise<void> {
  const group = parseGroup(name);
  const waiting = await withWaitingRoom(context, groupTopology(context, group).groupId, async (room) => {
    if (options.release.length > 0) {
      const released = await room.release(options.release);
      context.out.progress(`released ${released} waiting event(s) of ${options.release.length} video(s)`);
    }
    return room.list();
  });
  const videos = new Set(waiting.map((event) => event.key));
  context.out.result({ group, videos: videos.size, events: waiting }, () =>
    waiting.length === 0
      ? `${group}: no video is held; nothing waits in the retry tiers behind an earlier event`
      : [
          `${group}: ${videos.size} video(s) held, ${waiting.length} event(s) waiting`,
          table(
            ['VIDEO', 'EVENT ID', 'FROM', 'WAITING SINCE'],
            waiting.map((event) => [event.key, event.eventId ?? undefined, `${event.topic}@${event.offset}`, event.waitingSince.toISOString()]),
          ),
        ].join('\n'),
  );
}
