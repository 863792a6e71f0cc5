import { readDeadLetters, replayDeadLetters, type DeadLetter, type DeadLetterFilter } from '@video-pipeline/consumer';
import { UsageError, parseGroup, type OpsContext } from '../context';
import { table } from '../output';

/** `ops dlq <group> [--limit N]`: what is parked in a group's dead-letter topic, and why. */
export async function showDeadLetters(context: OpsContext, name: string | undefined, options: { limit?: number }): Promise<void> {
  const group = parseGroup(name);
  const letters: DeadLetter[] = [];
  const { scanned } = await readDeadLetters({
    kafka: context.kafka,
    group,
    topicPrefix: context.config.kafka.topicPrefix,
    onRecord: (letter) => {
      letters.push(letter);
    },
    onProgress: ({ scanned: done, total }) => {
      if (done % 1000 === 0) context.out.progress(`read ${done}/${total}`);
    },
  });
  const shown = options.limit === undefined ? letters : letters.slice(-options.limit);
  const view = shown.map(({ message: _message, ...facts }) => ({ ...facts, videoId: _message.key?.toString() }));
  context.out.result({ group, total: scanned, deadLetters: view }, () =>
    scanned === 0
      ? `${group}: the dead-letter topic is empty`
      : [
          `${group}: ${scanned} dead letter(s)${shown.length < scanned ? `, showing the last ${shown.length}` : ''}`,
          table(
            ['PARTITION', 'OFFSET', 'EVENT ID', 'VIDEO', 'CODE', 'ATTEMPTS', 'FAILED AT', 'FROM', 'ERROR'],
            view.map((l) => [l.partition, l.offset, l.eventId, l.videoId, l.errorCode, l.attempts, l.failedAt, `${l.originalTopic}/${l.originalPartition}@${l.originalOffset}`, l.errorMessage?.slice(0, 80)]),
          ),
        ].join('\n'),
  );
}

/**
 * `ops replay <group> [--event-id ID ...] [--code CODE ...] [--all]`: sends
 * dead letters back to the group. Replays are idempotent: an event the group
 * has since processed is skipped by its idempotency record.
 */
export async function replay(context: OpsContext, name: string | undefined, options: { eventIds: string[]; codes: string[]; all: boolean }): Promise<void> {
  const group = parseGroup(name);
  if (!options.all && options.eventIds.length === 0 && options.codes.length === 0) {
    throw new UsageError('say what to replay: --event-id <id>, --code <error code>, or --all');
  }
  const filter: DeadLetterFilter = {
    ...(options.eventIds.length > 0 ? { eventIds: options.eventIds } : {}),
    ...(options.codes.length > 0 ? { errorCodes: options.codes } : {}),
  };
  let lastReport = 0;
  const result = await replayDeadLetters({
    kafka: context.kafka,
    group,
    topicPrefix: context.config.kafka.topicPrefix,
    filter,
    onProgress: (progress) => {
      if (Date.now() - lastReport > 500 || progress.scanned === progress.total) {
        lastReport = Date.now();
        context.out.progress(`scanned ${progress.scanned}/${progress.total}, replayed ${progress.replayed}`);
      }
    },
  });
  context.out.result({ group, ...result }, () => `${group}: replayed ${result.replayed} of ${result.scanned} dead letter(s) (${result.skipped} did not match)`);
}
