import type { ModerationReasonV1 } from '@video-pipeline/events';
import type { SourceInfo } from '@video-pipeline/media';

/** What a video must be to be published; an empty list accepts anything the pipeline can read. */
export interface MediaPolicy {
  /** ffmpeg demuxer names, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`. */
  allowedContainers: readonly string[];
  /** ffmpeg codec names, e.g. `h264`, `hevc`, `vp9`. */
  allowedCodecs: readonly string[];
  /** 0: no limit beyond the pipeline's own. */
  maxDurationSeconds: number;
  /** The picture's short side must be at least this, in pixels. */
  minShortSide: number;
}

/** The policy's verdicts on a source: one reason per rule, each `pass` or `reject`. */
export function checkMediaPolicy(info: SourceInfo, policy: MediaPolicy): ModerationReasonV1[] {
  // Each rule names its pass and its refusal, so a reviewer reads what was found either way.
  const rule = (ok: boolean, codes: { pass: string; reject: string }, message: string): ModerationReasonV1 => ({ check: 'media_policy', verdict: ok ? 'pass' : 'reject', code: ok ? codes.pass : codes.reject, message });
  const shortSide = Math.min(info.video.displayWidth, info.video.displayHeight);
  return [
    rule(policy.allowedContainers.length === 0 || policy.allowedContainers.includes(info.demuxer), { pass: 'container_allowed', reject: 'container_not_allowed' }, `container ${info.demuxer}`),
    rule(policy.allowedCodecs.length === 0 || policy.allowedCodecs.includes(info.video.codec), { pass: 'codec_allowed', reject: 'codec_not_allowed' }, `video codec ${info.video.codec}`),
    rule(policy.maxDurationSeconds === 0 || info.durationSeconds <= policy.maxDurationSeconds, { pass: 'duration_allowed', reject: 'too_long' }, `${info.durationSeconds.toFixed(1)} s${policy.maxDurationSeconds ? ` (at most ${policy.maxDurationSeconds} s)` : ''}`),
    rule(shortSide >= policy.minShortSide, { pass: 'resolution_allowed', reject: 'resolution_too_small' }, `${info.video.displayWidth}×${info.video.displayHeight} (short side at least ${policy.minShortSide})`),
  ];
}
