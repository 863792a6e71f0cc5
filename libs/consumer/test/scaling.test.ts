import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../../../test/support/pipeline';
import { appliedEffects, describeMembers, processedEventIds, recordingHandler, trackAssignment, useTestbeds, videoUploaded, type ConsumerTestbed } from './support/harness';

const ALL_PARTITIONS = [0, 1, 2, 3, 4, 5];

/** Two events on each partition of the source topic; resolves with them, by partition. */
async function publishOnEveryPartition(bed: ConsumerTestbed): Promise<Map<number, string[]>> {
  const byPartition = new Map<number, string[]>();
  for (const partition of ALL_PARTITIONS) {
    const events = [videoUploaded(), videoUploaded()];
    await bed.publish(events, { partition });
    byPartition.set(partition, events.map((event) => event.id));
  }
  return byPartition;
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe('instances of a group share its partitions', () => {
  const testbed = useTestbeds();

  it('splits the partitions between two instances, and moves them to the survivor when one stops', async () => {
    const bed = await testbed('scaling', { sourcePartitions: 6 });
    const first = recordingHandler();
    const second = recordingHandler();
    const a = await bed.runtime({ handlers: first.handlers }, { start: false });
    const b = await bed.runtime({ handlers: second.handlers }, { start: false });
    const assignedToA = trackAssignment(a, bed.sourceTopic);
    const assignedToB = trackAssignment(b, bed.sourceTopic);

    await a.start();
    expect(assignedToA.partitions()).toEqual(ALL_PARTITIONS);
    await b.start();
    await eventually(
      async () => assignedToA.partitions().length > 0 && assignedToB.partitions().length > 0 && [...assignedToA.partitions(), ...assignedToB.partitions()].length === 6,
      20_000,
      'both instances to hold partitions',
    );
    expect([...assignedToA.partitions(), ...assignedToB.partitions()].sort((x, y) => x - y)).toEqual(ALL_PARTITIONS);
    const members = await describeMembers(b, bed.sourceTopic);
    expect(members.state).toBe('Stable');
    expect(members.assignments.map((partitions) => partitions.join(',')).sort()).toEqual([assignedToA.partitions().join(','), assignedToB.partitions().join(',')].sort());

    const before = await publishOnEveryPartition(bed);
    await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length === 12, 20_000, 'the first 12 events');
    const expectedOf = (partitions: number[], events: Map<number, string[]>) => sorted(partitions.flatMap((partition) => events.get(partition)!));
    expect(sorted(first.calls.map((call) => call.eventId))).toEqual(expectedOf(assignedToA.partitions(), before));
    expect(sorted(second.calls.map((call) => call.eventId))).toEqual(expectedOf(assignedToB.partitions(), before));

    const partitionsOfB = assignedToB.partitions();
    const joinsOfB = assignedToB.joins();
    const callsOfA = first.calls.length;
    await a.stop();
    await eventually(async () => assignedToB.joins() > joinsOfB && assignedToB.partitions().length === 6, 20_000, 'the survivor to take every partition');
    expect((await describeMembers(b, bed.sourceTopic)).assignments).toEqual([ALL_PARTITIONS]);

    const after = await publishOnEveryPartition(bed);
    await eventually(async () => (await processedEventIds(bed.prisma, bed.groupId)).length === 24, 20_000, 'the next 12 events');
    expect(first.calls).toHaveLength(callsOfA); // the stopped instance handled nothing more
    expect(sorted(second.calls.map((call) => call.eventId))).toEqual(sorted([...expectedOf(partitionsOfB, before), ...expectedOf(ALL_PARTITIONS, after)]));
    expect(await appliedEffects(bed.prisma, bed.groupId)).toHaveLength(24);
  });

  it('keeps the effect of a long event once across a rebalance: done where it runs, or aborted there and done by the new owner', async () => {
    const bed = await testbed('scaling-rebalance', { sourcePartitions: 6 });
    const slow = videoUploaded();
    const abortedOnA: string[] = [];
    const onA = recordingHandler(async (event, { signal }) => {
      if (event.id !== slow.id) return;
      signal.addEventListener('abort', () => abortedOnA.push((signal.reason as { code?: string }).code ?? 'unknown'));
      await sleep(3_500, undefined, { signal }); // several heartbeats: the rebalance starts while it runs
    });
    const onB = recordingHandler();
    await bed.runtime({ handlers: onA.handlers });

    await bed.publish([slow], { partition: 0 });
    await eventually(async () => onA.callsFor(slow.id).length === 1, 10_000, 'the long handler to start');
    const b = await bed.runtime({ handlers: onB.handlers }, { start: false });
    const assignedToB = trackAssignment(b, bed.sourceTopic);
    await b.start(); // the first instance rejoins at once: its long batch runs beside its fetch loop

    // Whoever owns partition 0 now handles an event behind the long one; a rerun would come before it.
    const behind = videoUploaded();
    await bed.publish([behind], { partition: 0 });
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, behind.id)).length === 1, 15_000, 'the event behind the long one');
    await eventually(async () => (await appliedEffects(bed.prisma, bed.groupId, slow.id)).length === 1, 15_000, 'the long event');

    expect(assignedToB.partitions().length).toBeGreaterThan(0);
    if (assignedToB.partitions().includes(0)) {
      // Partition 0 moved: the first instance's attempt was aborted, and the new owner did the event once.
      expect(abortedOnA).toEqual(['partition_revoked']);
      expect(onB.callsFor(slow.id)).toHaveLength(1);
    } else {
      expect(abortedOnA).toEqual([]);
      expect(onA.callsFor(slow.id)).toEqual([expect.objectContaining({ outcome: 'success' })]);
      expect(onB.callsFor(slow.id)).toEqual([]);
    }
    expect(await appliedEffects(bed.prisma, bed.groupId, slow.id)).toHaveLength(1);
  });
});
