import { randomBytes } from 'node:crypto';
import { isPipelineError } from '@video-pipeline/errors';
import { demuxerFor, guardedInputOptions, protocolsFor } from '@video-pipeline/media';

const codeOf = (head: Buffer | string): string => {
  try {
    return `demuxer ${demuxerFor(Buffer.from(head))}`;
  } catch (error) {
    return isPipelineError(error) ? error.code : String(error);
  }
};

const box = (type: string, brand: string) => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from(type + brand), Buffer.alloc(12)]);

describe('demuxerFor: the demuxer ffmpeg is told to use, from the first bytes alone', () => {
  it.each([
    ['MP4', box('ftyp', 'isom'), 'demuxer mov'],
    ['QuickTime', box('ftyp', 'qt  '), 'demuxer mov'],
    ['Matroska', Buffer.from('1a45dfa3a34286810142f7810142f2810442f381084282886d6174726f736b61', 'hex'), 'demuxer matroska'],
    ['WebM', Buffer.from('1a45dfa3a34286810142f7810142f2810442f3810842828477656268', 'hex'), 'demuxer matroska'],
    ['AVI', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('AVI LIST')]), 'demuxer avi'],
    ['MPEG-TS', Buffer.concat(Array.from({ length: 3 }, () => Buffer.concat([Buffer.from([0x47]), Buffer.alloc(187)]))), 'demuxer mpegts'],
  ])('%s', (_name, head, expected) => {
    expect(codeOf(head)).toBe(expected);
  });

  it.each([
    ['an HLS playlist', '#EXTM3U\n#EXTINF:4,\nhttp://example.invalid/a.ts\n'],
    ['an HLS playlist after a byte order mark and blank lines', '\uFEFF\n\n#EXTM3U\n'],
    ['a bare M3U list', '#just a comment\n/etc/passwd\n'],
    ['an ffconcat script', 'ffconcat version 1.0\nfile /etc/passwd\n'],
    ['a concat list', "file '/etc/passwd'\n"],
    ['a DASH manifest', '<?xml version="1.0"?><MPD></MPD>'],
    ['a DASH manifest without a declaration', '<MPD type="static"><BaseURL>http://example.invalid/</BaseURL></MPD>'],
    ['a SMIL playlist', '<smil><body><video src="file:///etc/passwd"/></body></smil>'],
    ['a PLS playlist', '[playlist]\nFile1=http://example.invalid/a\n'],
    ['an SDP description', 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n'],
    ['text naming a URL', 'see http://example.invalid/video for the real thing'],
  ])('refuses %s as unsafe', (_name, text) => {
    expect(codeOf(text)).toBe('media_unsafe_input');
  });

  it('refuses what it does not recognise as undecodable', () => {
    expect(codeOf(randomBytes(4096))).toBe('media_undecodable');
    expect(codeOf('just some text without references')).toBe('media_undecodable');
    expect(codeOf(Buffer.alloc(0))).toBe('media_undecodable');
  });
});

describe('guarded input options', () => {
  it('allow only the protocol the input needs', () => {
    expect(protocolsFor('http://127.0.0.1:9000/videos/x?X-Amz-Signature=1')).toBe('http,tcp');
    expect(protocolsFor('https://s3.example.invalid/x')).toBe('https,tls,tcp');
    expect(protocolsFor('/tmp/video.mp4')).toBe('file');
    expect(() => protocolsFor('rtmp://example.invalid/live')).toThrow(/rtmp/);
  });

  it('force the demuxer, bound network reads and frame sizes, and turn off MP4 data references', () => {
    expect(guardedInputOptions('http://127.0.0.1/x', 'mov', 4096 * 4096)).toEqual(['-protocol_whitelist', 'http,tcp', '-rw_timeout', '30000000', '-f', 'mov', '-enable_drefs', '0', '-max_pixels', String(4096 * 4096)]);
    expect(guardedInputOptions('/tmp/x.mkv', 'matroska', 100)).toEqual(['-protocol_whitelist', 'file', '-f', 'matroska', '-max_pixels', '100']);
  });
});
