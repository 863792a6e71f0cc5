import { consumerGroups } from '@video-pipeline/events';
import { groupTopology, parseGroup, type OpsContext } from '../context';
import { groupStatus, type GroupStatus } from '../group-status';
import { table } from '../output';

/** `ops groups`: every pipeline group's state, members and total lag. */
export async function listGroups(context: OpsContext): Promise<void> {
  const statuses: GroupStatus[] = [];
  for (const group of consumerGroups) {
    const { groupId, topics } = groupTopology(context, group);
    statuses.push(await groupStatus(context.admin, groupId, topics));
  }
  context.out.result(statuses, () =>
    table(
      ['GROUP', 'STATE', 'MEMBERS', 'LAG'],
      statuses.map((status) => [status.groupId, status.state, status.members.length, status.totalLag]),
    ),
  );
}

/** `ops group <name>`: members and their assignments, and lag per partition. */
export async function showGroup(context: OpsContext, name: string | undefined): Promise<void> {
  const { groupId, topics } = groupTopology(context, parseGroup(name));
  const status = await groupStatus(context.admin, groupId, topics);
  context.out.result(status, () => {
    const members = status.members.map((member) => [
      member.clientId,
      member.host,
      Object.entries(member.assignment)
        .map(([topic, partitions]) => `${topic}[${partitions.join(',')}]`)
        .join(' '),
    ]);
    return [
      `group ${status.groupId}: ${status.state}, ${status.members.length} member(s), lag ${status.totalLag}`,
      '',
      status.members.length > 0 ? table(['CLIENT', 'HOST', 'ASSIGNMENT'], members) : '(no members)',
      '',
      table(
        ['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'MEMBER'],
        status.partitions.map((p) => [p.topic, p.partition, p.committed, p.end, p.lag, p.memberId?.slice(-12)]),
      ),
    ].join('\n');
  });
}
