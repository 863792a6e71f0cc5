/** A storyboard's WebVTT: each cue points at a tile of the sprite with `#xywh=x,y,w,h`. */
export interface StoryboardTile {
  start: number;
  end: number;
  url: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

function seconds(stamp: string): number {
  const parts = stamp.trim().split(':').map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/** Parses the cues; a relative sprite URL is resolved against the VTT's own URL (itself against the page's). */
export function parseStoryboardVtt(text: string, vttUrl: string, pageUrl: string): StoryboardTile[] {
  const tiles: StoryboardTile[] = [];
  for (const block of text.replace(/\r/g, '').split(/\n\n+/)) {
    const lines = block.split('\n');
    const timing = lines.findIndex((line) => line.includes('-->'));
    const target = lines[timing + 1];
    if (timing < 0 || !target) continue;
    const [from, to] = lines[timing]!.split('-->');
    const match = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(target.trim());
    if (!match || !from || !to) continue;
    tiles.push({
      start: seconds(from),
      end: seconds(to.trim().split(/\s+/)[0]!),
      url: new URL(match[1]!, new URL(vttUrl, pageUrl)).href,
      x: Number(match[2]),
      y: Number(match[3]),
      width: Number(match[4]),
      height: Number(match[5]),
    });
  }
  return tiles;
}

export function tileAt(tiles: readonly StoryboardTile[], time: number): StoryboardTile | undefined {
  return tiles.find((tile) => time >= tile.start && time < tile.end) ?? tiles.at(-1);
}
