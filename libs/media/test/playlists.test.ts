import { avcCodecString, bandwidthOf, masterPlaylist, planLadder, readRungListing, vodPlaylist } from '@video-pipeline/media';

const ffmpegEventPlaylist = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init_1.mp4"
#EXTINF:4.000000,
seg_00000.m4s
#EXTINF:4.000000,
seg_00001.m4s
`;

describe('HLS playlists', () => {
  it('reads the complete segments of a playlist ffmpeg is still writing', () => {
    expect(readRungListing(ffmpegEventPlaylist)).toEqual({
      initUri: 'init_1.mp4',
      segments: [
        { uri: 'seg_00000.m4s', durationSeconds: 4 },
        { uri: 'seg_00001.m4s', durationSeconds: 4 },
      ],
      ended: false,
    });
  });

  it('stores a rung as a complete VOD playlist', () => {
    const vod = vodPlaylist(`${ffmpegEventPlaylist}#EXT-X-ENDLIST\n`);
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(vod).toContain('#EXT-X-ENDLIST');
    expect(vod).toContain('#EXT-X-MAP:URI="init_1.mp4"');
    expect(readRungListing(vod).segments).toHaveLength(2);
  });

  it('takes the peak segment as BANDWIDTH and the whole rung as AVERAGE-BANDWIDTH, ignoring a final sliver for the peak', () => {
    expect(
      bandwidthOf([
        { uri: 'a', durationSeconds: 4, bytes: 500_000 },
        { uri: 'b', durationSeconds: 4, bytes: 1_000_000 },
        { uri: 'c', durationSeconds: 0.1, bytes: 20_000 },
      ]),
    ).toEqual({ bandwidth: 2_000_000, averageBandwidth: Math.ceil((1_520_000 * 8) / 8.1) });
  });

  it('names an H.264 stream by the profile, constraints and level in its avcC box', () => {
    const init = Buffer.concat([Buffer.from('....moov....stsd....avc1...'), Buffer.from([0, 0, 0, 0x30]), Buffer.from('avcC'), Buffer.from([1, 0x64, 0x00, 0x28, 0xff])]);
    expect(avcCodecString(init)).toBe('avc1.640028');
    expect(() => avcCodecString(Buffer.from('no box here'))).toThrow(/avcC/);
  });

  it('writes a master playlist with everything a player chooses a rung by', () => {
    const [top, low] = planLadder({ codec: 'h264', width: 1280, height: 720, displayWidth: 1280, displayHeight: 720, rotation: 0, frameRate: 29.97, variableFrameRate: false, pixelFormat: 'yuv420p', interlaced: false });
    const text = masterPlaylist([
      { rung: top!, uri: '720p/index.m3u8', bandwidth: 3_100_000, averageBandwidth: 2_000_000, codecs: 'avc1.64001f,mp4a.40.2' },
      { rung: low!, uri: '480p/index.m3u8', bandwidth: 1_500_000, averageBandwidth: 1_000_000, codecs: 'avc1.64001e,mp4a.40.2' },
    ]);
    expect(text).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
    expect(text).toContain('#EXT-X-STREAM-INF:BANDWIDTH=3100000,AVERAGE-BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970\n720p/index.m3u8');
    expect(text).toContain('RESOLUTION=854x480,FRAME-RATE=29.970\n480p/index.m3u8');
  });
});
