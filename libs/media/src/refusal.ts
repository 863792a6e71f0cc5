import { PipelineError, type ErrorCode } from '@video-pipeline/errors';

/** The reasons an upload is refused as media: permanent, recorded on the video, never retried. */
export type MediaRefusalCode = Extract<
  ErrorCode,
  'media_no_video_stream' | 'media_unsupported_codec' | 'media_resolution_too_large' | 'media_too_long' | 'media_frame_rate_too_high' | 'media_undecodable' | 'media_unsafe_input' | 'media_time_limit_exceeded'
>;

export function refuse(code: MediaRefusalCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }): PipelineError {
  return new PipelineError(code, message, options);
}

/** Whether an error is a refusal of the media itself (as opposed to a failure that may not repeat). */
export function isMediaRefusal(error: unknown): error is PipelineError & { code: MediaRefusalCode } {
  return error instanceof PipelineError && error.code.startsWith('media_') && !error.retriable;
}
