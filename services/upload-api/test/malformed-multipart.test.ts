import { API_KEY, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';

describe('malformed multipart bodies', () => {
  const config = testConfig(uniquePrefix('malformed'), { S3_BUCKET: `malformed-${Date.now().toString(36)}` });
  let api: RunningApi;
  beforeAll(async () => {
    api = await startUploadApi(config);
  });
  afterAll(async () => {
    await api?.close();
  });

  it.each([
    ['no boundary', 'multipart/form-data', 'anything', 'invalid_request'],
    ['a part without a disposition', 'multipart/form-data; boundary=xyz', '--xyz\r\nnot a header line\r\n\r\nbody\r\n--xyz--\r\n', 'missing_file'],
    ['a body that ends inside the file', 'multipart/form-data; boundary=xyz', '--xyz\r\ncontent-disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n\x00\x00\x00\x20ftypisom', 'upload_aborted'],
  ])('%s: 400 with a stable code, nothing stored', async (_name, contentType, body, code) => {
    const response = await fetch(`${api.baseUrl}/v1/videos`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': contentType }, body });
    const json = (await response.json()) as { error: { code: string } };
    expect(response.status).toBe(400);
    expect(json.error.code).toBe(code);
    expect(await api.storage.listKeys()).toEqual([]);
    expect(await api.storage.listOpenMultipartUploads()).toEqual([]);
    expect(await api.prisma.video.count({ where: { bucket: config.storage.bucket } })).toBe(0);
  });
});
