import type { SourceInfo } from '@video-pipeline/media';
import { checkMediaPolicy, type MediaPolicy } from '../src/media-policy';

const phoneClip: SourceInfo = {
  demuxer: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSeconds: 42,
  video: { codec: 'hevc', width: 1920, height: 1080, displayWidth: 1080, displayHeight: 1920, rotation: 90, frameRate: 30, variableFrameRate: true, pixelFormat: 'yuv420p10le', interlaced: false },
  audio: { codec: 'aac', channels: 2 },
};
const anything: MediaPolicy = { allowedContainers: [], allowedCodecs: [], maxDurationSeconds: 0, minShortSide: 64 };

describe('the media policy gives one verdict per rule, named for what it found', () => {
  it('passes every rule of an open policy, each with a code that says it passed', () => {
    expect(checkMediaPolicy(phoneClip, anything).map(({ verdict, code }) => [verdict, code])).toEqual([
      ['pass', 'container_allowed'],
      ['pass', 'codec_allowed'],
      ['pass', 'duration_allowed'],
      ['pass', 'resolution_allowed'],
    ]);
  });

  it('rejects what a strict policy does not allow, with the reason and what was found', () => {
    const strict: MediaPolicy = { allowedContainers: ['matroska,webm'], allowedCodecs: ['h264'], maxDurationSeconds: 30, minShortSide: 1440 };
    const reasons = checkMediaPolicy(phoneClip, strict);
    expect(reasons.map(({ verdict, code }) => [verdict, code])).toEqual([
      ['reject', 'container_not_allowed'],
      ['reject', 'codec_not_allowed'],
      ['reject', 'too_long'],
      ['reject', 'resolution_too_small'],
    ]);
    expect(reasons.map((reason) => reason.message)).toEqual([
      'container mov,mp4,m4a,3gp,3g2,mj2',
      'video codec hevc',
      '42.0 s (at most 30 s)',
      '1080×1920 (short side at least 1440)',
    ]);
  });
});
