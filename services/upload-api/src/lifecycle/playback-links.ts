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

/** A ready video's playback URLs, each good for the tokens' time to live; null for any other video. */
export function playbackLinks(video: VideoWithMedia, tokens: PlaybackTokens, baseUrl: string): PlaybackLinks | null {
  if (video.status !== 'ready' || !video.ladder) return null;
  const base = playbackBase(baseUrl, tokens.sign(video.id, video.ownerId));
  const thumbnailsPrefix = `videos/${video.id}/thumbnails/`;
  const inThumbnails = (key: string) => (key.startsWith(thumbnailsPrefix) ? `${base}/thumbnails/${key.slice(thumbnailsPrefix.length)}` : null);
  const posters = ((video.thumbnails?.posters ?? []) as unknown as StoredPoster[]).flatMap((poster) => {
    const url = inThumbnails(poster.key);
    return url ? [{ width: poster.width, height: poster.height, format: poster.format, url }] : [];
  });
  const storyboard = video.thumbnails?.storyboard as { vttKey?: string } | undefined;
  return {
    masterPlaylistUrl: `${base}/${video.ladder.masterPlaylistKey.split('/').at(-1)}`,
    posters,
    storyboardUrl: storyboard?.vttKey ? inThumbnails(storyboard.vttKey) : null,
  };
}
