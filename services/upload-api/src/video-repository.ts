import { isDatabaseUnavailable, type PrismaClient, type Video, type VideoStatus } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { createEvent } from '@video-pipeline/events';
import { writeToOutbox } from '@video-pipeline/outbox';
import type { StoredVideo } from '@video-pipeline/storage';
import type { Cursor } from './cursor';
import { checkQuota, lockOwnerQuota, type QuotaLimits } from './uploads/quotas';
import type { VideoWithMedia } from './video-view';

/** What the media groups recorded of a video, read with it. */
const withMedia = { stages: true, renditions: true, ladder: true, thumbnails: true, moderation: true } as const;

export interface NewVideo {
  id: string;
  ownerId: string;
  title: string | null;
  object: StoredVideo;
}

/** The upload API's reads and writes of videos; every read is scoped to an owner. */
export class VideoRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: { eventSource: string; topicPrefix: string },
  ) {}

  /** Records an uploaded video and its event (see completeUpload), the video's id standing for its upload's. */
  async createUploaded(video: NewVideo, now = new Date()): Promise<Video> {
    return (await this.completeUpload(video.id, video, { now })).video;
  }

  /**
   * The step every upload path ends in: records the uploaded video and its
   * `video.uploaded` event in one transaction, so either both exist or
   * neither does: no event is lost and none announces a video that was never
   * recorded. It happens once per upload: the completion row's primary key is
   * the upload's id, so a retried or racing completion of the same upload
   * waits for the first and returns its video (`created: false`), and the
   * caller removes whatever it stored for nothing. With `quotas`, the owner's
   * quotas are checked under its lock first (the size is known by now); the
   * upload's pending row, if any, goes in the same transaction (with
   * `pending`, it must be there: a swept upload cannot complete).
   */
  async completeUpload(
    uploadId: string,
    video: NewVideo,
    options: { quotas?: QuotaLimits; now?: Date; pending?: boolean } = {},
  ): Promise<{ video: Video; created: boolean }> {
    const now = options.now ?? new Date();
    const event = this.uploadedEvent(video, now);
    return this.prisma.$transaction(async (tx) => {
      const claimed = await tx.$executeRaw`
        INSERT INTO upload_completions (upload_id, video_id, owner_id) VALUES (${uploadId}, ${video.id}::uuid, ${video.ownerId})
        ON CONFLICT (upload_id) DO NOTHING`;
      if (claimed === 0) {
        const earlier = await tx.uploadCompletion.findUniqueOrThrow({ where: { uploadId } });
        return { video: await tx.video.findUniqueOrThrow({ where: { id: earlier.videoId } }), created: false };
      }
      if (options.quotas) {
        await lockOwnerQuota(tx, video.ownerId);
        await checkQuota(tx, options.quotas, { ownerId: video.ownerId, bytes: video.object.sizeBytes, exceptUploadId: uploadId, now });
      }
      const { count } = await tx.pendingUpload.deleteMany({ where: { id: uploadId } });
      // A tus or direct upload must still be under way: the sweeper may have removed it (and its data) meanwhile.
      if (options.pending && count === 0) throw new PipelineError('not_found', 'the upload expired and was removed; start a new one');
      const created = await tx.video.create({ data: this.videoRow(video, now) });
      await writeToOutbox(tx, event, this.options.topicPrefix);
      return { video: created, created: true };
    });
  }

  /** The video an upload became, if it completed. */
  async completedVideo(uploadId: string): Promise<Video | null> {
    const completion = await this.prisma.uploadCompletion.findUnique({ where: { uploadId } }).catch(asOutage);
    return completion && this.prisma.video.findUnique({ where: { id: completion.videoId } }).catch(asOutage);
  }

  private videoRow(video: NewVideo, now: Date) {
    return {
      id: video.id,
      ownerId: video.ownerId,
      title: video.title,
      status: 'uploaded' as const,
      bucket: video.object.bucket,
      objectKey: video.object.key,
      sizeBytes: BigInt(video.object.sizeBytes),
      sha256: video.object.sha256,
      contentType: video.object.contentType,
      createdAt: now,
    };
  }

  private uploadedEvent(video: NewVideo, now: Date) {
    return createEvent('video.uploaded', {
      source: this.options.eventSource,
      subject: video.id,
      time: now,
      data: {
        schemaVersion: 1,
        videoId: video.id,
        ownerId: video.ownerId,
        title: video.title,
        object: { ...video.object },
        uploadedAt: now.toISOString(),
      },
    });
  }

  async findForOwner(ownerId: string, id: string): Promise<VideoWithMedia | null> {
    return this.prisma.video.findFirst({ where: { id, ownerId }, include: withMedia }).catch(asOutage);
  }

  /** Newest first; `after` continues from the last item of a previous page. */
  async listForOwner(ownerId: string, limit: number, after?: Cursor, status?: VideoStatus): Promise<VideoWithMedia[]> {
    return this.prisma.video
      .findMany({
        where: {
          ownerId,
          ...(status && { status }),
          ...(after && {
            OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
          }),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
        include: withMedia,
      })
      .catch(asOutage);
  }

  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }
}

/** A database outage, as the API answers it (503, retriable); any other error passes on as it is. */
export function asOutage(error: unknown): never {
  if (isDatabaseUnavailable(error)) throw new PipelineError('database_unavailable', 'the database is unavailable; try again shortly', { cause: error });
  throw error;
}
