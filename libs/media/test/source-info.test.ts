import { isPipelineError } from '@video-pipeline/errors';
import { sourceInfo, type ProbeData } from '@video-pipeline/media';

const limits = { maxSide: 4096, maxDurationSeconds: 4 * 3600, maxFps: 120 };
const videoStream = { index: 0, codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080, pix_fmt: 'yuv420p', r_frame_rate: '30/1', avg_frame_rate: '30/1', sample_aspect_ratio: '1:1', field_order: 'progressive' };
const probe = (video: object | null, format: object = { duration: '10.0' }, extra: object[] = [{ index: 1, codec_type: 'audio', codec_name: 'aac', channels: 2 }]): ProbeData =>
  ({ format, streams: [...(video ? [{ ...videoStream, ...video }] : []), ...extra] }) as ProbeData;

const refusal = (data: ProbeData, custom = limits) => {
  try {
    sourceInfo(data, 'mov', custom);
    return 'accepted';
  } catch (error) {
    return isPipelineError(error) ? error.code : String(error);
  }
};

describe('sourceInfo', () => {
  it('reads what the ladder needs', () => {
    expect(sourceInfo(probe({}), 'mov', limits)).toEqual({
      demuxer: 'mov',
      durationSeconds: 10,
      video: { codec: 'h264', width: 1920, height: 1080, displayWidth: 1920, displayHeight: 1080, rotation: 0, frameRate: 30, variableFrameRate: false, pixelFormat: 'yuv420p', interlaced: false },
      audio: { codec: 'aac', channels: 2 },
    });
  });

  it('turns rotated video upright and makes pixels square', () => {
    const phone = sourceInfo(probe({ side_data_list: [{ side_data_type: 'Display Matrix', rotation: -90 }] }), 'mov', limits).video;
    expect([phone.displayWidth, phone.displayHeight, phone.rotation]).toEqual([1080, 1920, 270]);
    const tagged = sourceInfo(probe({ tags: { rotate: '90' } }), 'mov', limits).video;
    expect([tagged.displayWidth, tagged.displayHeight]).toEqual([1080, 1920]);
    const anamorphic = sourceInfo(probe({ width: 720, height: 576, sample_aspect_ratio: '64:45' }), 'mov', limits).video;
    expect([anamorphic.displayWidth, anamorphic.displayHeight]).toEqual([1024, 576]);
  });

  it('encodes variable frame rate video at its plausible nominal rate', () => {
    expect(sourceInfo(probe({ r_frame_rate: '30/1', avg_frame_rate: '2970/100' }), 'mov', limits).video).toMatchObject({ frameRate: 30, variableFrameRate: true });
    // A nominal rate that is the container's clock, not the video's: the mean it is.
    expect(sourceInfo(probe({ r_frame_rate: '90000/1', avg_frame_rate: '25/1' }), 'mov', limits).video).toMatchObject({ frameRate: 25, variableFrameRate: true });
  });

  it('sees interlacing and ignores cover art', () => {
    expect(sourceInfo(probe({ field_order: 'tt' }), 'mpegts', limits).video.interlaced).toBe(true);
    expect(refusal(probe(null, undefined, [{ index: 0, codec_type: 'video', codec_name: 'mjpeg', width: 600, height: 600, disposition: { attached_pic: 1 } }, { index: 1, codec_type: 'audio', codec_name: 'mp3' }]))).toBe('media_no_video_stream');
  });

  it.each([
    ['no video stream', probe(null), 'media_no_video_stream'],
    ['an unknown codec', probe({ codec_name: 'weirdcodec' }), 'media_unsupported_codec'],
    ['no codec', probe({ codec_name: undefined }), 'media_unsupported_codec'],
    ['no pixel format', probe({ pix_fmt: undefined }), 'media_unsupported_codec'],
    ['no size', probe({ width: 0 }), 'media_undecodable'],
    ['a side over 4096', probe({ width: 4100, height: 200 }), 'media_resolution_too_large'],
    ['a tall side over 4096', probe({ width: 200, height: 8192 }), 'media_resolution_too_large'],
    ['no duration', probe({}, {}), 'media_undecodable'],
    ['over 4 hours', probe({}, { duration: String(4 * 3600 + 1) }), 'media_too_long'],
    ['over 120 fps', probe({ r_frame_rate: '240/1', avg_frame_rate: '240/1' }), 'media_frame_rate_too_high'],
    ['no frame rate', probe({ r_frame_rate: '0/0', avg_frame_rate: '0/0' }), 'media_undecodable'],
  ])('refuses %s', (_what, data, code) => {
    expect(refusal(data)).toBe(code);
  });

  it('applies the limits it is given', () => {
    expect(refusal(probe({}), { maxSide: 1280, maxDurationSeconds: 60, maxFps: 30 })).toBe('media_resolution_too_large');
    expect(refusal(probe({}, { duration: '61' }), { maxSide: 4096, maxDurationSeconds: 60, maxFps: 30 })).toBe('media_too_long');
    expect(refusal(probe({ avg_frame_rate: '60/1', r_frame_rate: '60/1' }), { maxSide: 4096, maxDurationSeconds: 60, maxFps: 30 })).toBe('media_frame_rate_too_high');
  });
});
