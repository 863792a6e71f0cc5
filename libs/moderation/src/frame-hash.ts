import sharp from 'sharp';

/**
 * A picture's dHash: 64 bits, one per pair of horizontal neighbours in a
 * 9×8 grey copy (is the left one brighter?), as 16 hex digits. Pictures
 * that look alike (re-encoded, resized, slightly changed) have hashes a few
 * bits apart.
 */
export async function dHash(image: string | Buffer): Promise<string> {
  const pixels = await sharp(image).greyscale().resize(9, 8, { fit: 'fill' }).raw().toBuffer();
  let bits = 0n;
  for (let row = 0; row < 8; row += 1) {
    for (let column = 0; column < 8; column += 1) {
      bits = (bits << 1n) | (pixels[row * 9 + column]! > pixels[row * 9 + column + 1]! ? 1n : 0n);
    }
  }
  return bits.toString(16).padStart(16, '0');
}

/** How many of two 64-bit hashes' bits differ. */
export function hammingDistance(a: string, b: string): number {
  let difference = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let count = 0;
  while (difference > 0n) {
    count += Number(difference & 1n);
    difference >>= 1n;
  }
  return count;
}

export const isFrameHash = (text: string): boolean => /^[0-9a-f]{16}$/i.test(text);

/** The known-bad hash nearest to `hash` within `maxDistance`, if any. */
export function nearestKnownBad(hash: string, knownBad: readonly string[], maxDistance: number): { hash: string; distance: number } | null {
  let nearest: { hash: string; distance: number } | null = null;
  for (const bad of knownBad) {
    const distance = hammingDistance(hash, bad);
    if (distance <= maxDistance && (!nearest || distance < nearest.distance)) nearest = { hash: bad.toLowerCase(), distance };
  }
  return nearest;
}
