import { ChannelListener, type PrismaClient } from '@video-pipeline/db';
import type { Logger } from '@video-pipeline/logging';

/** The channel the change-log triggers NOTIFY, with the video id as payload. */
export const VIDEO_CHANGES_CHANNEL = 'video_changes';

/** One row of the change log, as watchers get it. */
export interface VideoChangeRow {
  seq: bigint;
  videoId: string;
  data: { type: 'status' | 'stage' | 'deleted'; [field: string]: unknown };
  createdAt: Date;
}

interface Watcher {
  after: bigint;
  onChanges: (rows: VideoChangeRow[]) => void;
  /** The feed stops (the API shuts down): the stream should end. */
  onStop: () => void;
}

/**
 * Fans a video's changes out to the API's event streams. One connection
 * LISTENs on `video_changes` for the whole process; a notification for a
 * video reads that video's new change-log rows once, for all its watchers,
 * and hands each watcher the rows after the last it got, in `seq` order.
 * After a reconnection every watched video is read again, so nothing
 * committed meanwhile is missed. It connects with its first watcher.
 */
export class VideoChangeFeed {
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly reading = new Map<string, Promise<void>>();
  private readonly readAgain = new Set<string>();
  private readonly listener: ChannelListener;
  private started = false;
  private stopped = false;

  constructor(
    databaseUrl: string,
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
  ) {
    this.listener = new ChannelListener({
      databaseUrl,
      channel: VIDEO_CHANGES_CHANNEL,
      name: 'the video change feed',
      logger,
      onNotification: (videoId) => {
        if (videoId && this.watchers.has(videoId)) this.read(videoId);
      },
      // Changes committed while nobody listened: every watched video is read again.
      onListening: () => {
        for (const videoId of this.watchers.keys()) this.read(videoId);
      },
    });
  }

  /** Ends every stream and the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const set of [...this.watchers.values()]) for (const watcher of [...set]) watcher.onStop();
    this.watchers.clear();
    await this.listener.stop();
  }

  /** How many streams are open, for metrics and tests. */
  get watcherCount(): number {
    let count = 0;
    for (const set of this.watchers.values()) count += set.size;
    return count;
  }

  /** Whether the video's log has rows after `after`. */
  async hasChangesAfter(videoId: string, after: bigint): Promise<boolean> {
    return (await this.prisma.videoChange.count({ where: { videoId, seq: { gt: after } } })) > 0;
  }

  /** Calls `onChanges` with the video's changes after `after` (its log so far first); returns the function that stops it. */
  watch(videoId: string, after: bigint, onChanges: (rows: VideoChangeRow[]) => void, onStop: () => void): () => void {
    if (this.stopped) {
      onStop();
      return () => {};
    }
    if (!this.started) {
      this.started = true;
      void this.listener.start();
    }
    const watcher: Watcher = { after, onChanges, onStop };
    let set = this.watchers.get(videoId);
    if (!set) this.watchers.set(videoId, (set = new Set()));
    set.add(watcher);
    this.read(videoId);
    return () => {
      set.delete(watcher);
      if (set.size === 0 && this.watchers.get(videoId) === set) this.watchers.delete(videoId);
    };
  }

  /** Reads a video's new rows, one read at a time per video; a notification during a read reads again after it. */
  private read(videoId: string): void {
    if (this.reading.has(videoId)) {
      this.readAgain.add(videoId);
      return;
    }
    const done = this.deliver(videoId)
      .catch((error: unknown) => this.logger.warn({ err: error, videoId }, 'could not read a video\'s changes'))
      .finally(() => {
        this.reading.delete(videoId);
        if (this.readAgain.delete(videoId)) this.read(videoId);
      });
    this.reading.set(videoId, done);
  }

  private async deliver(videoId: string): Promise<void> {
    const set = this.watchers.get(videoId);
    if (!set || set.size === 0) return;
    let after: bigint | undefined;
    for (const watcher of set) if (after === undefined || watcher.after < after) after = watcher.after;
    const rows = (await this.prisma.videoChange.findMany({ where: { videoId, seq: { gt: after! } }, orderBy: { seq: 'asc' } })) as VideoChangeRow[];
    if (rows.length === 0) return;
    for (const watcher of [...set]) {
      const fresh = rows.filter((row) => row.seq > watcher.after);
      if (fresh.length === 0) continue;
      watcher.after = fresh.at(-1)!.seq;
      watcher.onChanges(fresh);
    }
  }
}
