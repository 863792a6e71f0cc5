import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { newEventId } from '@video-pipeline/events';
import { processedEventIds } from '../../../libs/consumer/test/support/harness';
import { MediaFixtures, testPattern, tone, h264, aac } from '../../../test/support/media-fixtures';
import { eventually } from '../../../test/support/pipeline';
import { hlsPrefix } from '../src/handlers/video-uploaded';
import { childrenNamed, isAlive } from '../../../test/support/processes';
import { TranscoderGroup } from './support/transcoder-group';

jest.setTimeout(180_000);

const WORKER = path.join(__dirname, 'fixtures', 'transcoder-worker.ts');

/**
 * The transcoder on the real broker, S3 server, database and ffmpeg: a
 * worker killed with SIGKILL in the middle of a ladder takes its ffmpeg
 * with it, another instance does the whole video, and neither a
 * redelivery nor a replay changes anything after that.
 */
describe('a transcoder killed mid-ladder', () => {
  const fixtures = new MediaFixtures();
  const group = new TranscoderGroup('crash');
  const { bed, prefix } = group;
  let worker: ChildProcess | undefined;

  beforeAll(() => group.start());

  afterAll(async () => {
    if (worker && worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await group.close();
    await fixtures.remove();
  });

  /** Every stored object of the ladder with its ETag and time: what "changes nothing" is checked against. */
  async function ladderObjects(videoId: string): Promise<string[]> {
    const listed = await bed.storage.client.send(new ListObjectsV2Command({ Bucket: bed.storage.bucket, Prefix: hlsPrefix(videoId) }));
    return (listed.Contents ?? []).map((object) => `${object.Key} ${object.ETag} ${object.LastModified?.toISOString()}`).sort();
  }

  it('is replaced by another instance that completes the ladder once, with nothing left behind', async () => {
    const file = await fixtures.make('twelve-seconds-720p.mp4', [...testPattern('1280x720', 12), ...tone(12), ...h264, ...aac, '-shortest']);
    const event = await bed.storeUpload(file);
    const { videoId } = event.data;
    await group.publish(event);

    // The first worker encodes slowly (x264's medium preset), so it is caught mid-ladder.
    let output = '';
    worker = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, WORKER], {
      env: { ...process.env, KAFKA_TOPIC_PREFIX: prefix, S3_BUCKET: bed.storage.bucket, MEDIA_TEMP_DIR: bed.tempDir, X264_PRESET: 'medium', LOG_LEVEL: process.env.TEST_WORKER_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (chunk) => (output += chunk));
    worker.stderr!.on('data', (chunk) => (output += chunk));

    // Segments are stored while ffmpeg still encodes: some are there, the master is not.
    await eventually(
      async () => {
        const keys = await bed.keys(hlsPrefix(videoId));
        return keys.some((key) => key.endsWith('.m4s')) && !keys.some((key) => key.endsWith('master.m3u8'));
      },
      60_000,
      `segments stored mid-encode (worker output: ${output})`,
    );
    // The stage shows the work going on: progress is written every 2 s.
    const stage = await eventually(async () => {
      const running = await bed.stage(videoId, 'transcode');
      return running && running.progress > 0 ? running : undefined;
    }, 30_000, 'progress on the running stage');
    expect(stage).toMatchObject({ status: 'running', attempts: 1 });
    expect(stage.progress).toBeLessThan(100);
    const [ffmpeg] = await childrenNamed(worker.pid!, 'ffmpeg');
    expect(ffmpeg).toBeDefined();
    const leftBehind = (await fs.readdir(bed.tempDir)).filter((name) => name.startsWith(`${worker!.pid}-`));
    expect(leftBehind).toHaveLength(1);

    const exited = new Promise((resolve) => worker!.once('exit', (code, signal) => resolve({ code, signal })));
    worker.kill('SIGKILL');
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Its ffmpeg dies with it rather than encode on beside the retry.
    await eventually(async () => !(await isAlive(ffmpeg!)), 5_000, 'the killed worker’s ffmpeg to die');

    // Another instance takes over once the broker drops the dead member, and sweeps what it left.
    const survivor = await group.startInstance({ X264_PRESET: 'superfast' });
    await eventually(async () => (await bed.stage(videoId, 'transcode'))?.status === 'succeeded', 120_000, 'the other instance to complete the ladder');

    expect(await bed.stage(videoId, 'transcode')).toMatchObject({ status: 'succeeded', attempts: 2, progress: 100, errorCode: null });
    const renditions = await bed.prisma.videoRendition.findMany({ where: { videoId }, orderBy: { height: 'desc' } });
    expect(renditions.map((rendition) => rendition.name)).toEqual(['720p', '480p', '360p', '240p']);
    expect(await bed.published('video.transcoded', videoId)).toHaveLength(1);
    expect(await processedEventIds(bed.prisma, survivor.groupId)).toEqual([event.id]);
    // The killed worker's folder is swept, the survivor's removed after its run.
    await eventually(async () => (await fs.readdir(bed.tempDir)).length === 0, 5_000, 'no work folders left');

    // The ladder is complete: every segment each playlist names is stored, and nothing else is.
    const keys = new Set(await bed.keys(hlsPrefix(videoId)));
    const expected = new Set([`${hlsPrefix(videoId)}master.m3u8`]);
    for (const rendition of renditions) {
      const playlist = await (await fetch(await bed.url(rendition.playlistKey))).text();
      expect(playlist).toContain('#EXT-X-ENDLIST');
      expected.add(rendition.playlistKey);
      const folder = rendition.playlistKey.slice(0, rendition.playlistKey.lastIndexOf('/') + 1);
      for (const uri of playlist.split('\n').flatMap((line) => (line.startsWith('#EXT-X-MAP:URI="') ? [line.slice(16, -1)] : line && !line.startsWith('#') ? [line] : []))) expected.add(folder + uri);
    }
    expect([...keys].sort()).toEqual([...expected].sort());
    expect([...keys].filter((key) => key.endsWith('.m4s')).length).toBe(4 * 3);

    // A redelivery of the same event (same id) is skipped; a replay under a new id finds the stage done: nothing changes.
    const before = await ladderObjects(videoId);
    const replay = { ...event, id: newEventId() };
    await group.publish(event);
    await group.publish(replay);
    await eventually(async () => (await processedEventIds(bed.prisma, survivor.groupId)).includes(replay.id), 30_000, 'the replay to be handled');
    expect(await processedEventIds(bed.prisma, survivor.groupId)).toEqual([event.id, replay.id]);
    expect(await ladderObjects(videoId)).toEqual(before);
    expect(await bed.published('video.transcoded', videoId)).toHaveLength(1);
    expect(await bed.prisma.videoRendition.count({ where: { videoId } })).toBe(4);
    expect(await bed.stage(videoId, 'transcode')).toMatchObject({ status: 'succeeded', attempts: 2 });
  });
});
