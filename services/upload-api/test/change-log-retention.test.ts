import { randomUUID } from 'node:crypto';
import { pruneChangeLog } from '../src/lifecycle/change-log-retention';
import { UploadSweeper } from '../src/uploads/sweeper';
import { startUploadApi, testLogger, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

const KEY = 'change-log-key';

describe('the change log behind the event streams, trimmed', () => {
  const config = testConfig(uniquePrefix('change-log'), { S3_BUCKET: `change-log-${Date.now().toString(36)}` });
  const owner = `change-log-${randomUUID().slice(0, 8)}`;
  let api: RunningApi;

  beforeAll(async () => {
    api = await startUploadApi(config, { apiKeys: new Map([[KEY, owner]]) });
  });
  afterAll(async () => {
    await api?.close();
  });

  /** A video that went through `statuses`, with a transcode stage that reported progress on the way. */
  async function videoThrough(...statuses: ('processing' | 'ready' | 'failed')[]): Promise<string> {
    const id = randomUUID();
    await api.prisma.video.create({
      data: { id, ownerId: owner, bucket: 'b', objectKey: `videos/${id}/original`, sizeBytes: 1, sha256: '0'.repeat(64), contentType: 'video/mp4' },
    });
    await api.prisma.videoStage.create({ data: { videoId: id, stage: 'transcode', status: 'running' } });
    for (const progress of [25, 50, 75]) await api.prisma.videoStage.update({ where: { videoId_stage: { videoId: id, stage: 'transcode' } }, data: { progress } });
    for (const status of statuses) await api.prisma.video.update({ where: { id }, data: { status } });
    return id;
  }
  const changesOf = async (videoId: string) =>
    (await api.prisma.videoChange.findMany({ where: { videoId }, orderBy: { seq: 'asc' } })).map((row) => row.data as { type: string; status?: string });

  it('keeps a finished video’s outcome, a running video’s history, and nothing of a deleted one', async () => {
    const finished = await videoThrough('processing', 'ready');
    const running = await videoThrough('processing');
    const deleted = await videoThrough('processing', 'failed');
    await api.prisma.video.delete({ where: { id: deleted } });
    const runningBefore = await changesOf(running);
    expect(await changesOf(finished)).toHaveLength(7);

    // Finished after the cut-off: nothing of it goes yet.
    await pruneChangeLog(api.prisma, new Date(Date.now() - 60_000));
    expect(await changesOf(finished)).toHaveLength(7);

    await pruneChangeLog(api.prisma, new Date(Date.now() + 60_000));
    expect(await changesOf(finished)).toEqual([{ type: 'status', status: 'ready' }]);
    expect(await changesOf(running)).toEqual(runningBefore);
    expect(await changesOf(deleted)).toEqual([]);
  });

  it('the event stream of a trimmed finished video still says its outcome and ends', async () => {
    const finished = await videoThrough('processing', 'ready');
    await pruneChangeLog(api.prisma, new Date(Date.now() + 60_000));
    const response = await fetch(`${api.baseUrl}/v1/videos/${finished}/events`, { headers: { authorization: `Bearer ${KEY}` }, signal: AbortSignal.timeout(10_000) });
    expect(response.status).toBe(200);
    const events = (await response.text()).split('\n\n').filter((block) => block.startsWith('id:'));
    expect(events).toHaveLength(1);
    expect(events[0]).toContain('event: status');
    expect(events[0]).toContain('"status":"ready"');
  });

  it('runs with the upload sweeper, which keeps the history for CHANGE_LOG_RETENTION_HOURS', async () => {
    const short = testConfig(uniquePrefix('change-log-short'), { CHANGE_LOG_RETENTION_HOURS: '0.001' }); // 3.6 s
    expect(short.uploads.changeLogRetentionMs).toBe(3_600);
    const sweeper = new UploadSweeper({ prisma: api.prisma, storage: api.storage, logger: testLogger(), changeLogRetentionMs: short.uploads.changeLogRetentionMs });
    const finished = await videoThrough('processing', 'ready');
    const history = await changesOf(finished);
    expect(history).toHaveLength(7);

    // Within the retention: all of it stays.
    await sweeper.sweep();
    expect(await changesOf(finished)).toEqual(history);

    // Past it: all but the outcome goes.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect((await sweeper.sweep()).changeLogRows).toBeGreaterThanOrEqual(6);
    expect(await changesOf(finished)).toEqual([{ type: 'status', status: 'ready' }]);
  });

  it('keeps a finished video’s history 7 days by default', async () => {
    const { changeLogRetentionMs } = config.uploads;
    const day = 24 * 60 * 60 * 1000;
    const sweeperAt = (at: number) => new UploadSweeper({ prisma: api.prisma, storage: api.storage, logger: testLogger(), clock: () => new Date(at), changeLogRetentionMs });
    const finished = await videoThrough('processing', 'ready');
    await sweeperAt(Date.now() + 6 * day).sweep();
    expect(await changesOf(finished)).toHaveLength(7);
    await sweeperAt(Date.now() + 7 * day + 60_000).sweep();
    expect(await changesOf(finished)).toEqual([{ type: 'status', status: 'ready' }]);
  });
});
