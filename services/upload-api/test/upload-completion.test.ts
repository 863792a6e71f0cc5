import { randomUUID } from 'node:crypto';
import { createPrismaClient, type PrismaClient } from '@video-pipeline/db';
import { VideoRepository } from '../src/video-repository';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

describe('the completion every upload path ends in', () => {
  const config = testConfig(uniquePrefix('completion'));
  let prisma: PrismaClient;
  let videos: VideoRepository;

  beforeAll(() => {
    prisma = createPrismaClient({ databaseUrl: config.database.url });
    videos = new VideoRepository(prisma, { eventSource: '/test', topicPrefix: config.kafka.topicPrefix });
  });
  afterAll(async () => {
    await prisma.outboxEvent.deleteMany({ where: { topic: { startsWith: config.kafka.topicPrefix } } });
    await prisma.$disconnect();
  });

  const upload = (id: string) => ({
    id,
    ownerId: 'completion-owner',
    title: null,
    object: { bucket: 'b', key: `videos/${id}/original`, sizeBytes: 10, sha256: 'a'.repeat(64), contentType: 'video/mp4' },
  });

  it('records one video and one event however many completions of one upload race', async () => {
    const uploadId = `race-${randomUUID()}`;
    const results = await Promise.all([0, 1, 2, 3, 4].map(() => videos.completeUpload(uploadId, upload(randomUUID()))));
    expect(results.filter((result) => result.created)).toHaveLength(1);
    const winner = results.find((result) => result.created)!.video.id;
    expect(new Set(results.map((result) => result.video.id))).toEqual(new Set([winner]));
    expect(await prisma.video.count({ where: { id: { in: results.map((r) => r.video.id) } } })).toBe(1);
    expect(await prisma.outboxEvent.count({ where: { key: winner } })).toBe(1);
    await prisma.video.delete({ where: { id: winner } });
  });

  it('a refused completion (over quota) records nothing, and the upload may complete later', async () => {
    const uploadId = `quota-${randomUUID()}`;
    const quotas = { storedBytes: 5, uploadsPerDay: 10 };
    await expect(videos.completeUpload(uploadId, upload(randomUUID()), { quotas })).rejects.toMatchObject({ code: 'storage_quota_exceeded' });
    expect(await prisma.uploadCompletion.count({ where: { uploadId } })).toBe(0);
    const later = await videos.completeUpload(uploadId, upload(randomUUID()), { quotas: { storedBytes: 100, uploadsPerDay: 10 } });
    expect(later.created).toBe(true);
    await prisma.video.delete({ where: { id: later.video.id } });
  });
});
