import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { ContainerSniffer, DigestStream, MAX_PARTS, PART_SIZE_BYTES, partSizeFor, sniffVideoContainer } from '@video-pipeline/storage';
import { createHash } from 'node:crypto';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));
const pad = (head: Buffer, length = 1024) => Buffer.concat([head, Buffer.alloc(Math.max(0, length - head.length))]);

describe('sniffVideoContainer', () => {
  it.each([
    ['MP4', bytes([0, 0, 0, 0x20], 'ftypisom'), 'video/mp4'],
    ['QuickTime', bytes([0, 0, 0, 0x14], 'ftypqt  '), 'video/quicktime'],
    ['QuickTime without ftyp', bytes([0, 0, 0, 8], 'wide'), 'video/quicktime'],
    ['3GP', bytes([0, 0, 0, 0x14], 'ftyp3gp5'), 'video/3gpp'],
    ['WebM', bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84], 'webm'), 'video/webm'],
    ['Matroska', bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], 'matroska'), 'video/x-matroska'],
    ['AVI', bytes('RIFF', [0, 0, 0, 0], 'AVI LIST'), 'video/x-msvideo'],
    ['FLV', bytes('FLV', [1, 5]), 'video/x-flv'],
    ['MPEG-PS', bytes([0, 0, 1, 0xba]), 'video/mpeg'],
    ['Ogg Theora', bytes('OggS', [0, 2], '\x80theora'), 'video/ogg'],
  ])('recognises %s', (_name, head, type) => {
    expect(sniffVideoContainer(pad(head))).toBe(type);
  });

  it('recognises MPEG-TS by its sync bytes every 188 bytes', () => {
    const ts = Buffer.alloc(188 * 3);
    for (let i = 0; i < 3; i++) ts[i * 188] = 0x47;
    expect(sniffVideoContainer(ts)).toBe('video/mp2t');
    ts[188] = 0;
    expect(sniffVideoContainer(ts)).toBeUndefined();
  });

  it.each([
    ['an M4A audio file', bytes([0, 0, 0, 0x20], 'ftypM4A ')],
    ['a HEIC image', bytes([0, 0, 0, 0x18], 'ftypheic')],
    ['a WAV file', bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt ')],
    ['Ogg Vorbis audio', bytes('OggS', [0, 2], '\x01vorbis')],
    ['an HLS playlist', bytes('#EXTM3U\n#EXT-X-VERSION:3\n')],
    ['an ffconcat script', bytes("ffconcat version 1.0\nfile '/etc/passwd'\n")],
    ['a PNG', bytes([0x89], 'PNG\r\n\x1a\n')],
    ['too few bytes to tell', bytes([0, 0, 0])],
  ])('refuses %s', (_name, head) => {
    expect(sniffVideoContainer(pad(head, head.length > 3 ? 1024 : 3))).toBeUndefined();
  });
});

async function run(input: Buffer[], transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(input),
    transform,
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        out.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('ContainerSniffer', () => {
  it('passes every byte through once it has seen a video head, even across small chunks', async () => {
    const video = pad(bytes([0, 0, 0, 0x20], 'ftypisom'), 10_000);
    const chunks = Array.from({ length: 100 }, (_, i) => video.subarray(i * 100, (i + 1) * 100));
    const sniffer = new ContainerSniffer();
    expect((await run(chunks, sniffer)).equals(video)).toBe(true);
    expect(sniffer.contentType).toBe('video/mp4');
  });

  it('decides at the end for a file shorter than its window', async () => {
    const sniffer = new ContainerSniffer();
    const small = pad(bytes([0, 0, 0, 0x20], 'ftypisom'), 100);
    expect((await run([small], sniffer)).equals(small)).toBe(true);
  });

  it('fails with empty_file or unsupported_media_type', async () => {
    await expect(run([], new ContainerSniffer())).rejects.toMatchObject({ code: 'empty_file' });
    await expect(run([Buffer.from('x'.repeat(5000))], new ContainerSniffer())).rejects.toMatchObject({ code: 'unsupported_media_type', status: 415 });
  });
});

describe('DigestStream', () => {
  it('counts and hashes what passes', async () => {
    const digest = new DigestStream(1000);
    const data = Buffer.from('a'.repeat(1000));
    await run([data.subarray(0, 400), data.subarray(400)], digest);
    expect(digest.sizeBytes).toBe(1000);
    expect(digest.digest()).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('fails with file_too_large one byte past the limit', async () => {
    await expect(run([Buffer.alloc(1001)], new DigestStream(1000))).rejects.toMatchObject({ code: 'file_too_large', status: 413, details: { maxBytes: 1000 } });
  });
});

describe('partSizeFor', () => {
  it("uses S3's smallest part until the part limit forces bigger ones", () => {
    expect(partSizeFor(5 * 1024 ** 3)).toBe(PART_SIZE_BYTES);
    const huge = 200 * 1024 ** 3;
    expect(partSizeFor(huge) * MAX_PARTS).toBeGreaterThanOrEqual(huge);
  });
});
