import type { Video } from '@video-pipeline/db';

/** The public JSON shape of a video. */
export function videoView(video: Video) {
  return {
    id: video.id,
    title: video.title,
    status: video.status,
    object: {
      bucket: video.bucket,
      key: video.objectKey,
      sizeBytes: Number(video.sizeBytes),
      sha256: video.sha256,
      contentType: video.contentType,
    },
    createdAt: video.createdAt.toISOString(),
    updatedAt: video.updatedAt.toISOString(),
  };
}

export type VideoView = ReturnType<typeof videoView>;
