import { RefusedError, UsageError, groupTopology, parseGroup, withWaitingRoom, type OpsContext } from '../context';
import { table } from '../output';

/**
 * `ops reset-offsets <group> --to earliest|latest|<ISO time> [--topic T]`:
 * moves a group's committed offsets. Refused while the group has members,
 * since they would overwrite the reset with their next commit. Moving a
 * retry tier's offsets may skip events that hold their video's later events
 * back (see WaitingRoom); the group's queues are emptied then, or those
 * videos would wait forever for events that will not come.
 */
export async function resetOffsets(context: OpsContext, name: string | undefined, options: { to?: string; topic?: string }): Promise<void> {
  const { groupId, topics, retryTopics } = groupTopology(context, parseGroup(name));
  const target = parseTarget(options.to);
  const chosen = options.topic ? [context.config.kafka.topicPrefix + options.topic] : topics;
  for (const topic of chosen) {
    if (!topics.includes(topic)) throw new UsageError(`${groupId} does not consume ${topic}; it consumes ${topics.join(', ')}`);
  }

  const { groups } = await context.admin.describeGroups([groupId]);
  const state = groups[0]?.state ?? 'Dead';
  if (state !== 'Empty' && state !== 'Dead') {
    throw new RefusedError(`${groupId} is ${state} with ${groups[0]?.members.length ?? 0} member(s); stop its workers first, then reset`);
  }

  const changes: { topic: string; partition: number; offset: string }[] = [];
  for (const topic of chosen) {
    context.out.progress(`resetting ${groupId} on ${topic} to ${options.to}`);
    const offsets =
      target.kind === 'time'
        ? await context.admin.fetchTopicOffsetsByTimestamp(topic, target.at.getTime())
        : (await context.admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: target.kind === 'earliest' ? p.low : p.high }));
    await context.admin.setOffsets({ groupId, topic, partitions: offsets.map(({ partition, offset }) => ({ partition, offset })) });
    changes.push(...offsets.map(({ partition, offset }) => ({ topic, partition, offset })));
  }
  const releasedWaiting = chosen.some((topic) => retryTopics.includes(topic)) ? await withWaitingRoom(context, groupId, (room) => room.release()) : 0;
  context.out.result({ groupId, to: options.to, offsets: changes, releasedWaiting }, () =>
    [
      `${groupId} reset to ${options.to}`,
      table(['TOPIC', 'PARTITION', 'OFFSET'], changes.map((c) => [c.topic, c.partition, c.offset])),
      ...(releasedWaiting > 0 ? [`released ${releasedWaiting} waiting event(s): their videos are no longer held behind them`] : []),
    ].join('\n'),
  );
}

type Target = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'time'; at: Date };

function parseTarget(to: string | undefined): Target {
  if (to === 'earliest' || to === 'latest') return { kind: to };
  const at = to === undefined ? Number.NaN : Date.parse(to);
  if (Number.isNaN(at)) throw new UsageError('--to must be earliest, latest or an ISO time such as 2026-11-27T12:00:00Z');
  return { kind: 'time', at: new Date(at) };
}
