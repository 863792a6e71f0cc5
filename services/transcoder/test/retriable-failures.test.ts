import fs from 'node:fs/promises';
import net from 'node:net';
import { classifyFailure } from '@video-pipeline/consumer';
import { PipelineError } from '@video-pipeline/errors';
import { ObjectStorage, createS3Client } from '@video-pipeline/storage';
import type { MediaJobDeps } from '@video-pipeline/media-jobs';
import { MediaFixtures, h264, testPattern } from '../../../test/support/media-fixtures';
import { MediaTestbed } from '../../../test/support/media-testbed';
import { eventually } from '../../../test/support/pipeline';
import { handleVideoUploaded } from '../src/handlers/video-uploaded';
import { childrenNamed } from '../../../test/support/processes';

jest.setTimeout(60_000);

/**
 * Failures that may not repeat are thrown, for the runtime to retry, and
 * shown on the stage meanwhile; nothing is published and no work folder or
 * ffmpeg stays behind.
 */
describe('a transcode that fails for a reason that may not repeat', () => {
  const fixtures = new MediaFixtures();
  const bed = new MediaTestbed('retriable');

  beforeAll(() => bed.start());
  afterAll(async () => {
    await bed.close();
    await fixtures.remove();
  });

  it('throws when storage fails, and shows the stage waiting for its retry', async () => {
    const event = await bed.storeUpload(await fixtures.make('clip.mp4', [...testPattern('320x240', 2), ...h264]));
    const deps: MediaJobDeps = bed.deps('transcoder');
    deps.storage = Object.assign(Object.create(deps.storage) as typeof deps.storage, {
      putFile: async () => {
        throw new PipelineError('storage_unavailable', 'the S3 server did not answer');
      },
    });
    await expect(bed.handle(handleVideoUploaded(deps), event)).rejects.toMatchObject({ code: 'storage_unavailable' });
    expect(await bed.stage(event.data.videoId, 'transcode')).toMatchObject({ status: 'pending', attempts: 1, errorCode: 'storage_unavailable', errorMessage: 'the S3 server did not answer' });
    expect(await bed.published('video.transcode.failed', event.data.videoId)).toEqual([]);
    expect(await fs.readdir(bed.tempDir)).toEqual([]);

    // The retry does the whole ladder.
    expect(await bed.handle(handleVideoUploaded(bed.deps('transcoder')), event, { attempt: 2 })).toBe(true);
    expect(await bed.stage(event.data.videoId, 'transcode')).toMatchObject({ status: 'succeeded', attempts: 2, errorCode: null });
  });

  it('a storage that refuses connections is storage_unavailable, retried as an outage, not internal', async () => {
    const event = await bed.storeUpload(await fixtures.make('refused.mp4', [...testPattern('320x240', 1), ...h264]));
    // A port nothing listens on: the S3 server is down.
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const deps: MediaJobDeps = bed.deps('transcoder');
    deps.storage = new ObjectStorage(createS3Client({ ...bed.config.storage, endpoint: `http://127.0.0.1:${closedPort}` }), bed.config.storage.bucket);
    const failure = await bed.handle(handleVideoUploaded(deps), event).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(classifyFailure(failure)).toMatchObject({ retriable: true, code: 'storage_unavailable' });
    expect(await bed.stage(event.data.videoId, 'transcode')).toMatchObject({ status: 'pending', attempts: 1, errorCode: 'storage_unavailable' });
    expect(await bed.published('video.transcode.failed', event.data.videoId)).toEqual([]);
  });

  it('kills ffmpeg when the attempt is aborted (its time limit, or shutdown), and leaves the event to its retry', async () => {
    const event = await bed.storeUpload(await fixtures.make('longer.mp4', [...testPattern('1280x720', 20), ...h264]));
    const abort = new AbortController();
    const deps = bed.deps('transcoder', { X264_PRESET: 'medium' });
    const attempt = bed.handle(handleVideoUploaded(deps), event, { signal: abort.signal });
    const [ffmpeg] = await eventually(async () => {
      const pids = await childrenNamed(process.pid, 'ffmpeg');
      return pids.length > 0 ? pids : undefined;
    }, 20_000, 'ffmpeg to start');
    abort.abort(new PipelineError('handler_timeout', 'the handler ran past its limit'));
    await expect(attempt).rejects.toThrow();
    expect(await childrenNamed(process.pid, 'ffmpeg')).not.toContain(ffmpeg);
    expect(await bed.stage(event.data.videoId, 'transcode')).toMatchObject({ status: 'pending', errorCode: 'handler_timeout' });
    expect(await fs.readdir(bed.tempDir)).toEqual([]);
  });
});
