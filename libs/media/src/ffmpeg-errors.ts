import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import { FfmpegError } from './ffmpeg-process';
import { refuse } from './refusal';

/** What ffmpeg says when the input itself is broken: the same input fails the same way every time. */
const brokenInput = /Invalid data found when processing input|moov atom not found|could not find codec parameters|Invalid NAL unit|error reading header|Failed to read frame size|End of file|decoding for stream .* failed|no frame!|Error while decoding|Invalid frame dimensions|max_pixels/i;

/**
 * How a failed ffmpeg run counts: a broken input is refused for good
 * (`media_undecodable`), so is a source that needs more than the time limit
 * (`media_time_limit_exceeded`); a crash or anything else may not repeat
 * (`media_processing_failed`, retried). An aborted run passes on as it is:
 * whoever aborted it knows why. Either way the message keeps ffmpeg's
 * command line and the tail of its stderr.
 */
export function asMediaError(error: unknown): unknown {
  if (isPipelineError(error) || !(error instanceof FfmpegError)) return error;
  const details = { commandLine: error.commandLine, stderrTail: error.stderrTail };
  switch (error.reason) {
    case 'aborted':
      return error;
    case 'timeout':
      return refuse('media_time_limit_exceeded', error.message, { cause: error, details });
    case 'exit':
      if (brokenInput.test(error.stderrTail)) return refuse('media_undecodable', `the video cannot be decoded: ${error.message}`, { cause: error, details });
      return new PipelineError('media_processing_failed', error.message, { cause: error, details });
    default:
      return new PipelineError('media_processing_failed', error.message, { cause: error, details });
  }
}
