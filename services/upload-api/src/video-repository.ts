import { isDatabaseUnavailable, type PrismaClient, type Video, type VideoStatus } from '@video-pipeline/db';
import { PipelineError } from '@video-pipeline/errors';
import { createEvent } from '@video-pipeline/events';
import { writeToOutbox } from '@video-pipeline/outbox';
import type { StoredVideo } from '@video-pipeline/storage';
import type { Cursor } from './cursor';
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

  /**
   * Records an uploaded video and its `video.uploaded` event in one
   * transaction: either both exist or neither does, so no event is lost and
   * none announces a video that was never recorded.
   */
  async createUploaded(video: NewVideo, now = new Date()): Promise<Video> {
    const event = createEvent('video.uploaded', {
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
    const [created] = await this.prisma.$transaction([
      this.prisma.video.create({
        data: {
          id: video.id,
          ownerId: video.ownerId,
          title: video.title,
          status: 'uploaded',
          bucket: video.object.bucket,
          objectKey: video.object.key,
          sizeBytes: BigInt(video.object.sizeBytes),
          sha256: video.object.sha256,
          contentType: video.object.contentType,
          createdAt: now,
        },
      }),
      writeToOutbox(this.prisma, event, this.options.topicPrefix),
    ]);
    return created;
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
