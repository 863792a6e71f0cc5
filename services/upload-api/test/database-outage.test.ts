import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import { makeVideo } from '../../../test/support/fixtures';
import { silentServer } from '../../../test/support/network';
import { API_KEY, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { uploadFile } from '../../../test/support/upload-client';

/**
 * A database host that hangs: it accepts connections and never answers.
 * Without a bound on the wait, every request would hang for TCP's own
 * timeout; the pipeline's client gives up after its connect timeout (here
 * the URL's, 1 s).
 */
describe('while the database does not answer, the API answers 503 database_unavailable and keeps nothing', () => {
  let silentDatabase: Awaited<ReturnType<typeof silentServer>>;
  let api: RunningApi;

  beforeAll(async () => {
    silentDatabase = await silentServer();
    const config = testConfig(uniquePrefix('outage'), {
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${silentDatabase.port}/hung?connect_timeout=1`,
      S3_BUCKET: `outage-${Date.now().toString(36)}`,
    });
    api = await startUploadApi(config);
  });
  afterAll(async () => {
    await api?.close();
    await silentDatabase?.close();
  });

  const get = async (path: string) => {
    const response = await fetch(`${api.baseUrl}${path}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string }; status?: string; checks?: Record<string, { status: string }> } };
  };

  it('a list of videos', async () => {
    const { status, body } = await get('/v1/videos');
    expect(status).toBe(503);
    expect(body.error).toEqual({ code: 'database_unavailable', message: 'the database is unavailable; try again shortly' });
  });

  it('one video', async () => {
    const { status, body } = await get(`/v1/videos/${randomUUID()}`);
    expect(status).toBe(503);
    expect(body.error?.code).toBe('database_unavailable');
  });

  it('an upload, whose stored object is removed again', async () => {
    const response = await uploadFile(api.baseUrl, API_KEY, { file: { bytes: await fs.readFile(await makeVideo({ seconds: 1 })) } });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('database_unavailable');
    expect(await api.storage.listKeys()).toEqual([]);
    expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
  });

  it('the readiness probe, naming the database', async () => {
    const { status, body } = await get('/readyz');
    expect(status).toBe(503);
    expect(body.checks).toMatchObject({ database: { status: 'failing' }, storage: { status: 'ok' } });
  });
});
