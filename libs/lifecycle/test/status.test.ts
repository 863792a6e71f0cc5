import { stageMayMove, statusFromStages, videoMayMove } from '../src/status';

describe('the lifecycle never goes back, and its end is final', () => {
  it('moves uploaded → processing → a terminal status, and never out of one', () => {
    expect(videoMayMove('uploaded', 'processing')).toBe(true);
    expect(videoMayMove('uploaded', 'ready')).toBe(true);
    expect(videoMayMove('processing', 'failed')).toBe(true);
    expect(videoMayMove('processing', 'uploaded')).toBe(false);
    expect(videoMayMove('processing', 'processing')).toBe(false);
    for (const terminal of ['ready', 'rejected', 'failed'] as const) {
      for (const to of ['uploaded', 'processing', 'ready', 'rejected', 'failed'] as const) expect(videoMayMove(terminal, to)).toBe(false);
    }
  });

  it('keeps an ended stage as it ended; only a review decides a video waiting for one', () => {
    expect(stageMayMove(undefined, 'running')).toBe(true);
    expect(stageMayMove('running', 'succeeded')).toBe(true);
    expect(stageMayMove('pending', 'running')).toBe(true);
    expect(stageMayMove('succeeded', 'running')).toBe(false);
    expect(stageMayMove('succeeded', 'failed')).toBe(false);
    expect(stageMayMove('failed', 'succeeded')).toBe(false);
    expect(stageMayMove('approved', 'rejected')).toBe(false);
    expect(stageMayMove('needs_review', 'approved')).toBe(true);
    expect(stageMayMove('needs_review', 'rejected')).toBe(true);
    expect(stageMayMove('needs_review', 'running')).toBe(false);
    expect(stageMayMove('needs_review', 'needs_review')).toBe(false);
  });

  it('is ready only when the transcode and the thumbnails succeeded and moderation approved', () => {
    expect(statusFromStages({})).toEqual({ status: 'uploaded' });
    expect(statusFromStages({ transcode: { status: 'running' } })).toEqual({ status: 'processing' });
    expect(statusFromStages({ transcode: { status: 'succeeded' }, thumbnails: { status: 'succeeded' }, moderation: { status: 'needs_review' } })).toEqual({ status: 'processing' });
    expect(statusFromStages({ transcode: { status: 'succeeded' }, thumbnails: { status: 'succeeded' }, moderation: { status: 'approved' } })).toEqual({ status: 'ready', terminal: { status: 'ready' } });
  });

  it('is rejected when moderation rejects, and failed with the stage and its reason when a stage failed for good', () => {
    expect(statusFromStages({ transcode: { status: 'running' }, moderation: { status: 'rejected' } })).toEqual({ status: 'rejected', terminal: { status: 'rejected' } });
    expect(statusFromStages({ transcode: { status: 'failed', errorCode: 'media_undecodable', errorMessage: 'broken' }, moderation: { status: 'approved' } })).toEqual({
      status: 'failed',
      terminal: { status: 'failed', stage: 'transcode', reason: { code: 'media_undecodable', message: 'broken' } },
    });
  });
});
