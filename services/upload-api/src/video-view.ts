import type { Video, VideoLadder, VideoModeration, VideoRendition, VideoStage, VideoThumbnails } from '@video-pipeline/db';

/** A video with what its groups recorded so far (each part may be missing). */
export type VideoWithMedia = Video & { stages?: VideoStage[]; renditions?: VideoRendition[]; ladder?: VideoLadder | null; thumbnails?: VideoThumbnails | null; moderation?: VideoModeration | null };

const mediaStages = ['transcode', 'thumbnails', 'moderation'] as const;

/** Where a ready video plays, with no Authorization header: see the playback route. */
export interface PlaybackLinks {
  masterPlaylistUrl: string;
  posters: { width: number; height: number; format: string; url: string }[];
  storyboardUrl: string | null;
}

/** The public JSON shape of a video; `playback` only for a ready one. */
export function videoView(video: VideoWithMedia, playback: PlaybackLinks | null = null) {
  return {
    id: video.id,
    title: video.title,
    description: video.description,
    status: video.status,
    object: {
      bucket: video.bucket,
      key: video.objectKey,
      sizeBytes: Number(video.sizeBytes),
      sha256: video.sha256,
      contentType: video.contentType,
    },
    stages: Object.fromEntries(mediaStages.map((stage) => [stage, stageView(video.stages?.find((row) => row.stage === stage))])) as Record<(typeof mediaStages)[number], StageView>,
    renditions: [...(video.renditions ?? [])]
      .sort((a, b) => Math.min(b.width, b.height) - Math.min(a.width, a.height))
      .map((rendition) => ({
        name: rendition.name,
        width: rendition.width,
        height: rendition.height,
        bandwidth: rendition.bandwidth,
        averageBandwidth: rendition.averageBandwidth,
        codecs: rendition.codecs,
        frameRate: rendition.frameRate,
        playlistKey: rendition.playlistKey,
      })),
    hls: video.ladder ? { masterPlaylistKey: video.ladder.masterPlaylistKey, durationSeconds: video.ladder.durationSeconds } : null,
    thumbnails: video.thumbnails
      ? { placeholder: video.thumbnails.placeholder, posterTimeSeconds: video.thumbnails.posterTimeSeconds, posters: video.thumbnails.posters, storyboard: video.thumbnails.storyboard }
      : null,
    moderation: video.moderation
      ? {
          decision: video.moderation.decision,
          decidedBy: video.moderation.decidedBy,
          reviewer: video.moderation.reviewer,
          note: video.moderation.note,
          reasons: video.moderation.reasons,
          decidedAt: video.moderation.decidedAt.toISOString(),
        }
      : null,
    playback,
    createdAt: video.createdAt.toISOString(),
    updatedAt: video.updatedAt.toISOString(),
  };
}

interface StageView {
  status: VideoStage['status'];
  /** 0–100 while it runs. */
  progress: number;
  attempts: number;
  startedAt: string | null;
  updatedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string } | null;
}

/** A stage its group has not started yet is pending. */
function stageView(row: VideoStage | undefined): StageView {
  if (!row) return { status: 'pending', progress: 0, attempts: 0, startedAt: null, updatedAt: null, finishedAt: null, error: null };
  return {
    status: row.status,
    progress: row.progress,
    attempts: row.attempts,
    startedAt: row.startedAt?.toISOString() ?? null,
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
  };
}

export type VideoView = ReturnType<typeof videoView>;
