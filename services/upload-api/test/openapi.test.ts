import fs from 'node:fs/promises';
import { dereference, validate } from '@readme/openapi-parser';
import Ajv2020 from 'ajv/dist/2020';
import type { OpenAPIV3_1 } from 'openapi-types';
import { errorCodes } from '@video-pipeline/errors';
import { makeVideo } from '../../../test/support/fixtures';
import { API_KEY, startUploadApi, type RunningApi } from '../../../test/support/pipeline';
import { testConfig, uniquePrefix } from '../../../test/support/test-env';
import { uploadFile } from '../../../test/support/upload-client';

type Document = OpenAPIV3_1.Document;
const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

/** `METHOD /path/{param}` of every operation in the document. */
function documentedOperations(document: Document): string[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) => methods.filter((method) => item?.[method]).map((method) => `${method.toUpperCase()} ${path}`));
}

/** `METHOD /path/{param}` of every route express serves, found by walking its routers. */
function servedOperations(stack: readonly { route?: { path: string; methods: Record<string, boolean> }; handle: { stack?: unknown[] } }[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const path = layer.route.path.replace(/:(\w+)/g, '{$1}');
      return Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${path}`);
    }
    return layer.handle.stack ? servedOperations(layer.handle.stack as typeof stack) : [];
  });
}

describe('the OpenAPI document', () => {
  const config = testConfig(uniquePrefix('openapi'), { S3_BUCKET: `openapi-${Date.now().toString(36)}` });
  let api: RunningApi;
  let document: Document;
  let resolved: Document;

  beforeAll(async () => {
    api = await startUploadApi(config);
    const response = await fetch(`${api.baseUrl}/openapi.json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as Document;
    resolved = (await dereference(structuredClone(document))) as Document;
  });
  const uploaded: { id: string; object: { key: string } }[] = [];
  afterAll(async () => {
    for (const video of uploaded) await api.removeVideo(video);
    await api?.close();
  });

  it('is valid OpenAPI 3.1', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(document));
    expect(result).toMatchObject({ valid: true });
  });

  /** Served by @tus/server, not by express routes: checked by asking the endpoint below. */
  const tusOperations = ['OPTIONS /v1/uploads', 'POST /v1/uploads', 'HEAD /v1/uploads/{id}', 'PATCH /v1/uploads/{id}', 'DELETE /v1/uploads/{id}'];

  it('lists every route the API serves, and no other', () => {
    const served = servedOperations((api.app.app as unknown as { router: { stack: Parameters<typeof servedOperations>[0] } }).router.stack);
    expect(served.length).toBeGreaterThanOrEqual(6);
    expect(documentedOperations(document).sort()).toEqual([...new Set([...served, ...tusOperations])].sort());
    expect(documentedOperations(document)).toEqual(expect.arrayContaining(['POST /v1/videos', 'GET /v1/videos', 'GET /v1/videos/{id}', 'GET /healthz', 'GET /readyz', 'GET /openapi.json']));
  });

  it('lists the tus operations the endpoint serves, and no other', async () => {
    const upload = `${api.baseUrl}/v1/uploads/00000000-0000-4000-8000-000000000000`;
    const options = await fetch(`${api.baseUrl}/v1/uploads`, { method: 'OPTIONS' });
    expect([options.status, options.headers.get('tus-version'), options.headers.get('x-request-id')]).toEqual([204, '1.0.0', expect.any(String)]);
    // Without a key, a served operation asks for one; one that is not served is not found.
    const withoutKey = async (method: string, url: string) => (await fetch(url, { method, headers: { 'tus-resumable': '1.0.0' } })).status;
    expect(await withoutKey('POST', `${api.baseUrl}/v1/uploads`)).toBe(401);
    for (const method of ['HEAD', 'PATCH', 'DELETE']) expect({ method, status: await withoutKey(method, upload) }).toEqual({ method, status: 401 });
    const withKey = async (method: string, url: string) => (await fetch(url, { method, headers: { authorization: `Bearer ${API_KEY}`, 'tus-resumable': '1.0.0' } })).status;
    expect(await withKey('GET', upload)).toBe(404);
    expect(await withKey('GET', `${api.baseUrl}/v1/uploads`)).toBe(404);
    expect(await withKey('HEAD', upload)).toBe(404);

    const create = resolved.paths!['/v1/uploads']!.post!;
    expect(create.security).toEqual([{ apiKey: [] }]);
    expect((create.parameters as OpenAPIV3_1.ParameterObject[]).map((parameter) => [parameter.in, parameter.name, parameter.required ?? false])).toEqual([
      ['header', 'Tus-Resumable', true],
      ['header', 'Upload-Length', false],
      ['header', 'Upload-Defer-Length', false],
      ['header', 'Upload-Metadata', false],
    ]);
    expect(Object.keys((create.responses!['201'] as OpenAPIV3_1.ResponseObject).headers!)).toEqual(expect.arrayContaining(['Location', 'Tus-Resumable', 'Upload-Expires']));
    const patch = resolved.paths!['/v1/uploads/{id}']!.patch!;
    expect((patch.parameters as OpenAPIV3_1.ParameterObject[]).map((parameter) => parameter.name)).toEqual(['id', 'Tus-Resumable', 'Upload-Offset', 'Upload-Length']);
    expect(Object.keys((patch.responses!['204'] as OpenAPIV3_1.ResponseObject).headers!)).toEqual(expect.arrayContaining(['Upload-Offset', 'Video-Id', 'Video-Url']));
    expect(Object.keys((resolved.paths!['/v1/uploads/{id}']!.head!.responses!['200'] as OpenAPIV3_1.ResponseObject).headers!)).toEqual(
      expect.arrayContaining(['Upload-Offset', 'Upload-Length', 'Upload-Metadata', 'Upload-Expires', 'Video-Id', 'Video-Url']),
    );
    // tus' own refusals are ours too: our error body, at tus' status, with the protocol's headers.
    expect(documentedErrors('/v1/uploads/{id}', 'patch')).toEqual({
      '400': ['invalid_request', 'upload_aborted'],
      '401': ['unauthorized'],
      '403': ['forbidden', 'tus_header_missing'],
      '404': ['not_found'],
      '409': ['upload_offset_mismatch'],
      '410': ['upload_expired'],
      '412': ['tus_version_unsupported'],
      '413': ['upload_length_exceeded', 'file_too_large', 'storage_quota_exceeded'],
      '415': ['unsupported_media_type'],
      '429': ['upload_quota_exceeded'],
      '500': ['internal'],
      '503': ['storage_unavailable', 'database_unavailable', 'temporarily_unavailable'],
    });
    expect(documentedErrors('/v1/uploads', 'post')).toMatchObject({ '400': ['invalid_request', 'upload_aborted'], '412': ['tus_version_unsupported'], '413': expect.arrayContaining(['upload_length_exceeded']), '501': ['tus_extension_unsupported'] });
    expect(documentedErrors('/v1/uploads/{id}', 'delete')).toMatchObject({ '400': ['invalid_request', 'upload_finished'], '404': ['not_found'] });
    for (const status of ['409', '412']) expect(Object.keys((patch.responses![status] as OpenAPIV3_1.ResponseObject).content!)).toEqual(['application/json']);
    expect(Object.keys((patch.responses!['412'] as OpenAPIV3_1.ResponseObject).headers!)).toEqual(['X-Request-Id', 'Tus-Resumable', 'Tus-Version']);
    // HEAD answers have no body: its refusals are listed by status, with their headers.
    const headRefusals = resolved.paths!['/v1/uploads/{id}']!.head!.responses!;
    for (const status of ['404', '410', '412']) expect({ status, headers: Object.keys((headRefusals[status] as OpenAPIV3_1.ResponseObject).headers ?? {}) }).toEqual({ status, headers: expect.arrayContaining(['Tus-Resumable']) });
  });

  it('declares Idempotency-Key where it is taken, with the limits the API enforces', async () => {
    for (const [path, method] of [['/v1/videos', 'post'], ['/v1/uploads/direct/{id}/complete', 'post']] as const) {
      const parameters = resolved.paths![path]![method]!.parameters as OpenAPIV3_1.ParameterObject[];
      const key = parameters.find((parameter) => parameter.name === 'Idempotency-Key');
      expect(key).toMatchObject({ in: 'header', schema: { type: 'string', minLength: 1, maxLength: 255, pattern: expect.any(String) } });
      expect(key!.required ?? false).toBe(false);
    }
    const withKey = (key: string) => uploadFile(api.baseUrl, API_KEY, { file: { bytes: Buffer.from('x') }, headers: { 'idempotency-key': key } });
    for (const key of ['k'.repeat(256), 'with space']) {
      const refused = await withKey(key);
      expect([refused.status, (refused.body as { error: { code: string; details: unknown } }).error]).toEqual([
        400,
        expect.objectContaining({ code: 'invalid_request', details: { in: 'header', parameter: 'Idempotency-Key' } }),
      ]);
    }
    // The longest key allowed passes the header check (the file is then refused for what it is).
    expect((await withKey('k'.repeat(255))).status).toBe(415);
  });

  /** The codes each error answer of an operation lists, by status. */
  function documentedErrors(path: string, method: 'get' | 'put' | 'post' | 'delete' | 'patch' | 'head'): Record<string, string[]> {
    const responses = resolved.paths![path]![method]!.responses!;
    const errors: Record<string, string[]> = {};
    for (const [status, answer] of Object.entries(responses)) {
      const schema = (answer as OpenAPIV3_1.ResponseObject).content?.['application/json']?.schema as OpenAPIV3_1.SchemaObject | undefined;
      const code = (schema?.properties?.error as OpenAPIV3_1.SchemaObject | undefined)?.properties?.code as OpenAPIV3_1.SchemaObject | undefined;
      if (code?.enum) errors[status] = code.enum as string[];
    }
    return errors;
  }

  it('lists the error codes of each route under their statuses', () => {
    expect(documentedErrors('/v1/videos', 'post')).toEqual({
      '400': ['invalid_request', 'missing_file', 'empty_file', 'unknown_field', 'duplicate_field', 'upload_aborted'],
      '401': ['unauthorized'],
      '403': ['forbidden'],
      '409': ['idempotency_in_progress'],
      '413': ['file_too_large', 'too_many_parts', 'storage_quota_exceeded'],
      '415': ['not_multipart', 'unsupported_media_type'],
      '422': ['idempotency_key_reused'],
      '429': ['upload_quota_exceeded'],
      '500': ['internal'],
      '503': ['storage_unavailable', 'database_unavailable'],
    });
    expect(documentedErrors('/v1/videos', 'get')).toEqual({ '400': ['invalid_request', 'invalid_cursor'], '401': ['unauthorized'], '403': ['forbidden'], '500': ['internal'], '503': ['database_unavailable'] });
    expect(documentedErrors('/v1/videos/{id}', 'get')).toEqual({ '400': ['invalid_request'], '401': ['unauthorized'], '403': ['forbidden'], '404': ['not_found'], '500': ['internal'], '503': ['database_unavailable'] });
    expect(documentedErrors('/healthz', 'get')).toEqual({ '400': ['invalid_request'], '500': ['internal'] });
    for (const [path, item] of Object.entries(resolved.paths!)) {
      for (const method of methods.filter((each) => item?.[each])) {
        for (const [status, codes] of Object.entries(documentedErrors(path, method as 'get' | 'put' | 'post' | 'delete' | 'patch'))) {
          for (const code of codes) expect({ path, method, code, status: errorCodes[code as keyof typeof errorCodes]?.status }).toEqual({ path, method, code, status: Number(status) });
        }
      }
    }
  });

  it('says which routes need an API key', () => {
    expect(document.components?.securitySchemes).toEqual({ apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }) });
    expect(resolved.paths!['/v1/videos']!.post!.security).toEqual([{ apiKey: [] }]);
    expect(resolved.paths!['/v1/videos/{id}']!.get!.security).toEqual([{ apiKey: [] }]);
    expect(resolved.paths!['/healthz']!.get!.security).toEqual([]);
  });

  describe('describes the answers the API really gives', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

    async function expectDocumented(method: 'get' | 'post' | 'patch' | 'delete', path: string, response: { status: number; headers: Headers; body: unknown }): Promise<void> {
      const documented = resolved.paths![path]![method]!.responses![String(response.status)] as OpenAPIV3_1.ResponseObject | undefined;
      expect({ path, method, status: response.status, documented: documented !== undefined }).toEqual({ path, method, status: response.status, documented: true });
      const validateBody = ajv.compile(documented!.content!['application/json']!.schema as object);
      if (!validateBody(response.body)) throw new Error(`${method} ${path} ${response.status}: ${ajv.errorsText(validateBody.errors)}\n${JSON.stringify(response.body)}`);
      for (const header of Object.keys(documented!.headers ?? {})) expect({ header, value: response.headers.get(header) }).toEqual({ header, value: expect.any(String) });
    }
    const call = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${api.baseUrl}${path}`, init);
      return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
    };
    const withKey = { authorization: `Bearer ${API_KEY}` };

    it('for uploads, refused or stored', async () => {
      const stored = await uploadFile(api.baseUrl, API_KEY, { file: { bytes: await fs.readFile(await makeVideo({ seconds: 1 })) }, fields: { title: 'Documented' } });
      await expectDocumented('post', '/v1/videos', stored);
      await expectDocumented('post', '/v1/videos', await uploadFile(api.baseUrl, undefined, { file: { bytes: Buffer.from('x') } }));
      await expectDocumented('post', '/v1/videos', await uploadFile(api.baseUrl, API_KEY, { file: { bytes: Buffer.from('not a video at all') } }));
      await expectDocumented('post', '/v1/videos', await uploadFile(api.baseUrl, API_KEY, { fields: { title: 'no file' } }));
      await expectDocumented('post', '/v1/videos', await call('/v1/videos', { method: 'POST', headers: { ...withKey, 'content-type': 'text/plain' }, body: 'x' }));

      const id = (stored.body as { id: string }).id;
      uploaded.push(stored.body as { id: string; object: { key: string } });
      await expectDocumented('get', '/v1/videos/{id}', await call(`/v1/videos/${id}`, { headers: withKey }));
      await expectDocumented('get', '/v1/videos/{id}', await call('/v1/videos/not-a-video', { headers: withKey }));
      await expectDocumented('get', '/v1/videos', await call('/v1/videos?limit=1', { headers: withKey }));
      await expectDocumented('get', '/v1/videos', await call('/v1/videos?limit=0', { headers: withKey }));
      await expectDocumented('get', '/v1/videos', await call('/v1/videos?cursor=nope', { headers: withKey }));
    });

    it('for tus’ own refusals', async () => {
      const tus = (path: string, method: string, headers: Record<string, string> = {}, body?: string) =>
        call(path, { method, headers: { ...withKey, 'tus-resumable': '1.0.0', ...headers }, body });
      await expectDocumented('post', '/v1/uploads', await call('/v1/uploads', { method: 'POST', headers: { ...withKey, 'upload-length': '10' } }));
      await expectDocumented('post', '/v1/uploads', await tus('/v1/uploads', 'POST'));
      await expectDocumented('post', '/v1/uploads', await tus('/v1/uploads', 'POST', { 'upload-concat': 'partial', 'upload-length': '10' }));
      const created = await fetch(`${api.baseUrl}/v1/uploads`, { method: 'POST', headers: { ...withKey, 'tus-resumable': '1.0.0', 'upload-length': '10' } });
      expect(created.status).toBe(201);
      const upload = created.headers.get('location')!;
      const patching = { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' };
      await expectDocumented('patch', '/v1/uploads/{id}', await tus(upload, 'PATCH', { ...patching, 'upload-offset': '5' }, 'x'));
      await expectDocumented('patch', '/v1/uploads/{id}', await tus(upload, 'PATCH', patching, 'x'.repeat(11)));
      await expectDocumented('patch', '/v1/uploads/{id}', await tus(upload, 'PATCH', { 'content-type': patching['content-type'] }, 'x'));
      await expectDocumented('patch', '/v1/uploads/{id}', await call(upload, { method: 'PATCH', headers: { ...withKey, ...patching }, body: 'x' }));
      await expectDocumented('delete', '/v1/uploads/{id}', await tus('/v1/uploads/00000000-0000-4000-8000-000000000000', 'DELETE'));
      expect((await fetch(`${api.baseUrl}${upload}`, { method: 'DELETE', headers: { ...withKey, 'tus-resumable': '1.0.0' } })).status).toBe(204);
    });

    it('for probes and this document', async () => {
      await expectDocumented('get', '/healthz', await call('/healthz'));
      await expectDocumented('get', '/readyz', await call('/readyz'));
      await expectDocumented('get', '/openapi.json', await call('/openapi.json'));
    });
  });
});
