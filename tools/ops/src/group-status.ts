import { AssignerProtocol, type Admin } from 'kafkajs';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Next offset the group will read; undefined before its first commit. */
  committed?: string;
  /** Offset of the next record to be written (the high watermark). */
  end: string;
  lag: number;
  /** Member currently assigned the partition, if any. */
  memberId?: string;
}

export interface GroupMember {
  memberId: string;
  clientId: string;
  host: string;
  assignment: Record<string, number[]>;
}

export interface GroupStatus {
  groupId: string;
  /** Kafka's group state: Stable, PreparingRebalance, CompletingRebalance, Empty or Dead. */
  state: string;
  members: GroupMember[];
  partitions: PartitionLag[];
  totalLag: number;
}

/**
 * A consumer group's members and, per partition of the topics it reads, how
 * far it is behind. Partitions the group never committed count their whole
 * content as lag (runtime groups start from the earliest record).
 *
 * Which of `topics` it reads, the broker says: its members' subscriptions;
 * without members, the topics it committed on; a group that never ran, all
 * of them. (Each group subscribes to the event types its handlers take, not
 * to every event topic: the others' records are no lag of its own.)
 */
export async function groupStatus(admin: Admin, groupId: string, topics: string[]): Promise<GroupStatus> {
  const { groups } = await admin.describeGroups([groupId]);
  const description = groups[0];
  const members: GroupMember[] = (description?.members ?? []).map((member) => {
    const decoded = member.memberAssignment.length > 0 ? AssignerProtocol.MemberAssignment.decode(member.memberAssignment) : null;
    return { memberId: member.memberId, clientId: member.clientId, host: member.clientHost, assignment: decoded?.assignment ?? {} };
  });
  const owner = (topic: string, partition: number) => members.find((member) => member.assignment[topic]?.includes(partition))?.memberId;

  const existing = new Set(await admin.listTopics());
  const present = topics.filter((topic) => existing.has(topic));
  const committed = present.length > 0 ? await admin.fetchOffsets({ groupId, topics: present }) : [];
  const subscribed = new Set((description?.members ?? []).flatMap((member) => (member.memberMetadata.length > 0 ? AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.topics ?? [] : [])));
  const committedOn = new Set(committed.filter((entry) => entry.partitions.some((partition) => partition.offset !== '-1')).map((entry) => entry.topic));
  const reads = subscribed.size > 0 ? subscribed : committedOn.size > 0 ? committedOn : new Set(present);
  const partitions: PartitionLag[] = [];
  for (const topic of present.filter((name) => reads.has(name))) {
    const ends = await admin.fetchTopicOffsets(topic);
    const commits = committed.find((entry) => entry.topic === topic)?.partitions ?? [];
    for (const end of ends.sort((a, b) => a.partition - b.partition)) {
      const commit = commits.find((entry) => entry.partition === end.partition)?.offset;
      const hasCommit = commit !== undefined && commit !== '-1';
      const from = hasCommit ? BigInt(commit) : BigInt(end.low);
      partitions.push({
        topic,
        partition: end.partition,
        committed: hasCommit ? commit : undefined,
        end: end.high,
        lag: Number(BigInt(end.high) - from),
        memberId: owner(topic, end.partition),
      });
    }
  }
  return {
    groupId,
    state: description?.state ?? 'Dead',
    members,
    partitions,
    totalLag: partitions.reduce((sum, partition) => sum + partition.lag, 0),
  };
}
