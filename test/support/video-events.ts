import { randomUUID } from 'node:crypto';
import { createEvent, type CloudEvent } from '@video-pipeline/events';

/**
 * Valid events of one video's life, as the pipeline's groups publish them,
 * with times a test chooses: `at(seconds)` is that many seconds after `start`.
 */
export class VideoStory {
  readonly videoId: string;

  constructor(
    readonly ownerId: string,
    private readonly start: Date,
    videoId: string = randomUUID(),
  ) {
    this.videoId = videoId;
  }

  at(seconds: number): Date {
    return new Date(this.start.getTime() + seconds * 1000);
  }

  private base(time: Date) {
    return { source: '/video-pipeline/test', subject: this.videoId, time };
  }

  uploaded(sizeBytes = 1_000_000): CloudEvent<'video.uploaded'> {
    return createEvent('video.uploaded', {
      ...this.base(this.at(0)),
      data: {
        schemaVersion: 1,
        videoId: this.videoId,
        ownerId: this.ownerId,
        title: null,
        object: { bucket: 'videos', key: `videos/${this.videoId}/original`, sizeBytes, sha256: 'a'.repeat(64), contentType: 'video/mp4' },
        uploadedAt: this.at(0).toISOString(),
      },
    });
  }

  transcoded(startedAfter: number, tookSeconds: number, durationSeconds: number): CloudEvent<'video.transcoded'> {
    const done = this.at(startedAfter + tookSeconds);
    return createEvent('video.transcoded', {
      ...this.base(done),
      data: {
        schemaVersion: 1,
        videoId: this.videoId,
        ownerId: this.ownerId,
        bucket: 'videos',
        masterPlaylistKey: `videos/${this.videoId}/hls/master.m3u8`,
        durationSeconds,
        renditions: [{ name: '240p', width: 426, height: 240, bandwidth: 400_000, averageBandwidth: 300_000, codecs: 'avc1.4d401e', frameRate: 25, playlistKey: `videos/${this.videoId}/hls/240p/index.m3u8` }],
        startedAt: this.at(startedAfter).toISOString(),
        transcodedAt: done.toISOString(),
      },
    });
  }

  transcodeFailed(startedAfter: number, tookSeconds: number, code: string): CloudEvent<'video.transcode.failed'> {
    return createEvent('video.transcode.failed', this.stageFailure('transcode', startedAfter, tookSeconds, code));
  }

  thumbnailsGenerated(startedAfter: number, tookSeconds: number): CloudEvent<'video.thumbnails.generated'> {
    const done = this.at(startedAfter + tookSeconds);
    return createEvent('video.thumbnails.generated', {
      ...this.base(done),
      data: {
        schemaVersion: 1,
        videoId: this.videoId,
        ownerId: this.ownerId,
        bucket: 'videos',
        posters: [{ width: 320, height: 240, format: 'webp', key: `videos/${this.videoId}/thumbnails/poster-320.webp` }],
        placeholder: 'LVKnh}{abo_gtiO,X4reawW?fhj?',
        posterTimeSeconds: 1,
        storyboard: { spriteKey: 's.jpg', vttKey: 's.vtt', tileWidth: 192, tileHeight: 108, columns: 1, rows: 1, tiles: 1, intervalSeconds: 1 },
        startedAt: this.at(startedAfter).toISOString(),
        generatedAt: done.toISOString(),
      },
    });
  }

  thumbnailsFailed(startedAfter: number, tookSeconds: number, code: string): CloudEvent<'video.thumbnails.failed'> {
    return createEvent('video.thumbnails.failed', this.stageFailure('thumbnails', startedAfter, tookSeconds, code));
  }

  /** Envelope fields and data of a media stage's failure: it started `startedAfter` seconds in and failed `tookSeconds` later. */
  private stageFailure<Stage extends 'transcode' | 'thumbnails'>(stage: Stage, startedAfter: number, tookSeconds: number, code: string) {
    const done = this.at(startedAfter + tookSeconds);
    return {
      ...this.base(done),
      data: { schemaVersion: 1 as const, videoId: this.videoId, ownerId: this.ownerId, stage, reason: failureReason(code), startedAt: this.at(startedAfter).toISOString(), failedAt: done.toISOString() },
    };
  }

  moderated(after: number, decision: 'approved' | 'rejected' | 'needs_review'): CloudEvent<'video.moderated'> {
    return createEvent('video.moderated', {
      ...this.base(this.at(after)),
      data: { schemaVersion: 1, videoId: this.videoId, ownerId: this.ownerId, decision, reasons: [], decidedBy: 'policy', reviewer: null, note: null, moderatedAt: this.at(after).toISOString() },
    });
  }

  ready(after: number): CloudEvent<'video.ready'> {
    return createEvent('video.ready', {
      ...this.base(this.at(after)),
      data: {
        schemaVersion: 1,
        videoId: this.videoId,
        ownerId: this.ownerId,
        title: null,
        durationSeconds: 12,
        masterPlaylistKey: `videos/${this.videoId}/hls/master.m3u8`,
        renditions: [{ name: '240p', width: 426, height: 240 }],
        uploadedAt: this.at(0).toISOString(),
        readyAt: this.at(after).toISOString(),
      },
    });
  }

  rejected(after: number): CloudEvent<'video.rejected'> {
    return createEvent('video.rejected', {
      ...this.base(this.at(after)),
      data: { schemaVersion: 1, videoId: this.videoId, ownerId: this.ownerId, decidedBy: 'policy', reasons: [], uploadedAt: this.at(0).toISOString(), rejectedAt: this.at(after).toISOString() },
    });
  }

  failed(after: number, stage: 'transcode' | 'thumbnails' | 'moderation', code: string): CloudEvent<'video.failed'> {
    return createEvent('video.failed', {
      ...this.base(this.at(after)),
      data: { schemaVersion: 1, videoId: this.videoId, ownerId: this.ownerId, stage, reason: failureReason(code), uploadedAt: this.at(0).toISOString(), failedAt: this.at(after).toISOString() },
    });
  }
}

function failureReason(code: string) {
  return { code, message: `failed: ${code}` };
}
