import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { videoModeratedV1, videoRejectedV1 } from '@video-pipeline/events';
import { dHash } from '@video-pipeline/moderation-rules';
import { MediaFixtures, h264, testPattern } from '../../../test/support/media-fixtures';
import { MediaTestbed } from '../../../test/support/media-testbed';
import { testLogger } from '../../../test/support/pipeline';
import { testConfig } from '../../../test/support/test-env';
import { handleVideoUploaded } from '../src/handlers/video-uploaded';
import { moderationDeps } from '../src/moderation-deps';

jest.setTimeout(90_000);

describe('the moderation group decides, with every reason, before anyone can watch', () => {
  const fixtures = new MediaFixtures();
  const bed = new MediaTestbed('moderation');
  let classifier: http.Server;
  let classifierMode: 'silent' | 'reject' | 'pass' = 'pass';
  const classifierRequests: unknown[] = [];

  beforeAll(async () => {
    await bed.start();
    classifier = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        classifierRequests.push(JSON.parse(body));
        if (classifierMode === 'silent') return; // never answers
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(classifierMode === 'reject' ? { verdict: 'reject', code: 'nudity', message: 'score 0.97' } : { verdict: 'pass' }));
      });
    });
    await new Promise<void>((resolve) => classifier.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    classifier.closeAllConnections();
    await new Promise((resolve) => classifier.close(resolve));
    await bed.close();
    await fixtures.remove();
  });

  function moderator(env: NodeJS.ProcessEnv = {}) {
    const config = testConfig(bed.config.kafka.topicPrefix, { S3_BUCKET: bed.config.storage.bucket, MEDIA_TEMP_DIR: bed.tempDir, MODERATION_BLOCKLIST: 'spam,buy now', MODERATION_FRAME_SAMPLES: '4', ...env });
    return handleVideoUploaded(moderationDeps({ config, prisma: bed.prisma, logger: testLogger() }));
  }

  const clean = () => fixtures.make('clean.mp4', [...testPattern('320x240', 2), ...h264]);
  const bars = () => fixtures.make('bars.mp4', ['-f', 'lavfi', '-i', 'smptebars=size=320x240:rate=25:duration=2', ...h264]);

  async function moderate(file: string, env: NodeJS.ProcessEnv = {}, title?: string) {
    const event = await bed.storeUpload(file);
    const { videoId } = event.data;
    if (title !== undefined) await bed.prisma.video.update({ where: { id: videoId }, data: { title } });
    expect(await bed.handle(moderator(env), event)).toBe(true);
    const [moderated, ...more] = await bed.published('video.moderated', videoId);
    expect(more).toEqual([]);
    const video = await bed.prisma.video.findUniqueOrThrow({ where: { id: videoId }, include: { stages: true, moderation: true } });
    return { event, videoId, moderated: videoModeratedV1.parse(moderated), video };
  }

  it('approves a clean video, with a passing verdict from every check', async () => {
    const { moderated, video } = await moderate(await clean(), {}, 'Holiday at the sea');
    expect(moderated).toMatchObject({ decision: 'approved', decidedBy: 'policy', reviewer: null });
    expect(moderated.reasons.map((reason) => [reason.check, reason.verdict])).toEqual([
      ['text_blocklist', 'pass'], ['media_policy', 'pass'], ['media_policy', 'pass'], ['media_policy', 'pass'], ['media_policy', 'pass'], ['frame_hash', 'pass'],
    ]);
    expect(video.stages).toEqual([expect.objectContaining({ stage: 'moderation', status: 'approved', progress: 100, attempts: 1 })]);
    expect(video.moderation).toMatchObject({ decision: 'approved', decidedBy: 'policy' });
    // Moderation alone does not make a video ready: the media stages have not run.
    expect(video.status).toBe('processing');
  });

  it('rejects a blocklisted title whatever its case and accents, and the video with one video.rejected', async () => {
    const { videoId, moderated, video } = await moderate(await clean(), {}, 'SPÄM for everyone');
    expect(moderated.decision).toBe('rejected');
    expect(moderated.reasons).toContainEqual(expect.objectContaining({ check: 'text_blocklist', verdict: 'reject', code: 'blocked_text', message: expect.stringContaining('title: "spam"') }));
    expect(video.status).toBe('rejected');
    const rejected = await bed.published('video.rejected', videoId);
    expect(rejected).toHaveLength(1);
    expect(videoRejectedV1.parse(rejected[0]).reasons).toContainEqual(expect.objectContaining({ code: 'blocked_text' }));
  });

  it('rejects a video whose frames look like a known-bad picture, and not one that does not', async () => {
    const picture = await fixtures.make('bars.png', ['-f', 'lavfi', '-i', 'smptebars=size=640x480', '-frames:v', '1']);
    const knownBad = await dHash(picture);
    const env = { MODERATION_BLOCKED_FRAME_HASHES: `ffffffffffffffff,${knownBad}` };
    const bad = await moderate(await bars(), env, 'bars');
    expect(bad.moderated.decision).toBe('rejected');
    expect(bad.moderated.reasons).toContainEqual(expect.objectContaining({ check: 'frame_hash', verdict: 'reject', code: 'known_bad_frame', message: expect.stringContaining(knownBad) }));
    const good = await moderate(await clean(), env, 'pattern');
    expect(good.moderated.decision).toBe('approved');
  });

  it('rejects what the media policy does not accept: a codec, a picture too small', async () => {
    const codec = await moderate(await clean(), { MODERATION_ALLOWED_CODECS: 'hevc,vp9' });
    expect(codec.moderated.decision).toBe('rejected');
    expect(codec.moderated.reasons).toContainEqual(expect.objectContaining({ check: 'media_policy', verdict: 'reject', code: 'codec_not_allowed' }));
    const small = await moderate(await fixtures.make('tiny.mp4', [...testPattern('96x48', 1), ...h264]));
    expect(small.moderated.reasons).toContainEqual(expect.objectContaining({ code: 'resolution_too_small', verdict: 'reject' }));
  });

  it('sends a video to review when the classifier does not answer in time, never approves it blindly', async () => {
    classifierMode = 'silent';
    const { port } = classifier.address() as AddressInfo;
    const started = Date.now();
    const { moderated, video } = await moderate(await clean(), { MODERATION_CLASSIFIER_URL: `http://127.0.0.1:${port}/classify`, MODERATION_CLASSIFIER_TIMEOUT_MS: '300' });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(moderated.decision).toBe('needs_review');
    expect(moderated.reasons).toContainEqual(expect.objectContaining({ check: 'classifier', verdict: 'review', code: 'classifier_unavailable', message: expect.stringContaining('300 ms') }));
    expect(video.stages[0]).toMatchObject({ stage: 'moderation', status: 'needs_review' });
    expect(video.status).toBe('processing');
    expect(classifierRequests.at(-1)).toMatchObject({ videoId: video.id, frameHashes: expect.arrayContaining([expect.stringMatching(/^[0-9a-f]{16}$/)]) });
  });

  it('follows a classifier that answers, and a classifier that is down sends to review', async () => {
    const { port } = classifier.address() as AddressInfo;
    classifierMode = 'reject';
    const rejected = await moderate(await clean(), { MODERATION_CLASSIFIER_URL: `http://127.0.0.1:${port}/classify` });
    expect(rejected.moderated.decision).toBe('rejected');
    expect(rejected.moderated.reasons).toContainEqual({ check: 'classifier', verdict: 'reject', code: 'nudity', message: 'score 0.97' });
    // Nothing listens on 127.0.0.2's port: refused at once.
    const down = await moderate(await clean(), { MODERATION_CLASSIFIER_URL: `http://127.0.0.2:${port}/classify` });
    expect(down.moderated.decision).toBe('needs_review');
  });

  it('does not judge what it cannot read: a broken source goes to review, the media stages fail it', async () => {
    const broken = await fixtures.write('broken.mp4', Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(2000, 7)]));
    const { moderated } = await moderate(broken);
    expect(moderated.decision).toBe('needs_review');
    expect(moderated.reasons).toContainEqual(expect.objectContaining({ check: 'media_policy', verdict: 'review', code: 'media_undecodable' }));
  });

  it('decides once: a redelivered event changes nothing', async () => {
    const { event, videoId } = await moderate(await clean(), {}, 'calm');
    expect(await bed.handle(moderator(), event)).toBe(false);
    expect(await bed.published('video.moderated', videoId)).toHaveLength(1);
  });
});
