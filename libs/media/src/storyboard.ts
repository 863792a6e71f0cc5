/** Where each storyboard frame sits in the sprite, and when it is shown. */
export interface StoryboardLayout {
  tileWidth: number;
  tileHeight: number;
  columns: number;
  rows: number;
  tiles: number;
  intervalSeconds: number;
  cues: { startSeconds: number; endSeconds: number; x: number; y: number }[];
}

/**
 * Tiles laid out left to right, top to bottom, `columns` to a row (fewer
 * if there are fewer tiles); tile i shows from i × interval until the next
 * tile, the last until the end of the video.
 */
export function storyboardLayout(options: { tiles: number; tileWidth: number; tileHeight: number; columns: number; intervalSeconds: number; durationSeconds: number }): StoryboardLayout {
  const { tiles, tileWidth, tileHeight, intervalSeconds, durationSeconds } = options;
  const columns = Math.min(options.columns, tiles);
  const rows = Math.ceil(tiles / columns);
  const cues = Array.from({ length: tiles }, (_, index) => {
    const startSeconds = index * intervalSeconds;
    const last = index === tiles - 1;
    return {
      startSeconds,
      endSeconds: last ? Math.max(durationSeconds, startSeconds + intervalSeconds / 2) : (index + 1) * intervalSeconds,
      x: (index % columns) * tileWidth,
      y: Math.floor(index / columns) * tileHeight,
    };
  });
  return { tileWidth, tileHeight, columns, rows, tiles, intervalSeconds, cues };
}

/** The WebVTT file a player scrubs with: one cue per tile, pointing into `spriteUri` with `#xywh=`. */
export function storyboardVtt(layout: StoryboardLayout, spriteUri: string): string {
  const cues = layout.cues.map((cue) => `${timestamp(cue.startSeconds)} --> ${timestamp(cue.endSeconds)}\n${spriteUri}#xywh=${cue.x},${cue.y},${layout.tileWidth},${layout.tileHeight}`);
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}

/** `hh:mm:ss.mmm`. */
export function timestamp(seconds: number): string {
  const millis = Math.round(seconds * 1000);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(Math.floor(millis / 3_600_000))}:${pad(Math.floor(millis / 60_000) % 60)}:${pad(Math.floor(millis / 1000) % 60)}.${pad(millis % 1000, 3)}`;
}
