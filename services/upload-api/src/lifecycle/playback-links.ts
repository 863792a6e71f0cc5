import type { Request } from 'express';
import type { PlaybackLinks, VideoWithMedia } from '../video-view';
import type { PlaybackTokens } from './playback-tokens';

/** The URL prefix of a video's playback: its token in the path, so relative URLs inside playlists keep it. */
export const playbackBase = (baseUrl: string, token: string) => `${baseUrl}/v1/play/${token}`;

/** Where the API is reached, as the client reached it. */
export const requestBaseUrl = (req: Request) => `${req.protocol}://${req.get('host')}`;

interface StoredPoster {
  width: number;
  height: number;
  format: string;
  key: string;
}

/** A video's poster and storyboard as signed URLs under `base`: only keys in its thumbnails folder. */
function pictureLinks(videoId: string, thumbnails: { posters: unknown; storyboard: unknown } | null | undefined, base: string) {
  const thumbnailsPrefix = `videos/${videoId}/thumbnails/`;
  const inThumbnails = (key: string | undefined) => (key?.startsWith(thumbnailsPrefix) ? `${base}/thumbnails/${key.slice(thumbnailsPrefix.length)}` : null);
  const posters = ((thumbnails?.posters ?? []) as StoredPoster[]).flatMap((poster) => {
    const url = inThumbnails(poster.key);
    return url ? [{ width: poster.width, height: poster.height, format: poster.format, url }] : [];
  });
  const storyboard = (thumbnails?.storyboard ?? undefined) as { vttKey?: string; spriteKey?: string } | undefined;
  return { posters, vttUrl: inThumbnails(storyboard?.vttKey), spriteUrl: inThumbnails(storyboard?.spriteKey) };
}

/**
 * A video's pictures for its reviewers, while it waits for review: signed
 * with the owner's scope (the play route opens a waiting video's pictures,
 * never its ladder); null before its thumbnails exist.
 */
export function reviewPictures(video: { videoId: string; ownerId: string; thumbnails: { posters: unknown; storyboard: unknown } | null }, tokens: PlaybackTokens, baseUrl: string) {
  if (!video.thumbnails) return null;
  const { posters, vttUrl, spriteUrl } = pictureLinks(video.videoId, video.thumbnails, playbackBase(baseUrl, tokens.sign(video.videoId, video.ownerId)));
  return { posters, storyboard: vttUrl && spriteUrl ? { vttUrl, spriteUrl } : null };
}

/** A ready video's playback URLs, each good for the tokens' time to live; null for any other video. */
export function playbackLinks(video: VideoWithMedia, tokens: PlaybackTokens, baseUrl: string): PlaybackLinks | null {
  if (video.status !== 'ready' || !video.ladder) return null;
  const base = playbackBase(baseUrl, tokens.sign(video.id, video.ownerId));
  const { posters, vttUrl } = pictureLinks(video.id, video.thumbnails, base);
  return {
    masterPlaylistUrl: `${base}/${video.ladder.masterPlaylistKey.split('/').at(-1)}`,
    posters,
    storyboardUrl: vttUrl,
  };
}
