import type { AddressInfo } from 'node:net';
import http from 'node:http';
import express from 'express';
import { z } from 'zod';
import { authenticator } from '../src/auth';
import { DEFAULT_DISCARD_LIMITS } from '../src/http/early-answers';
import { answerErrors, noSuchRoute } from '../src/http/errors';
import { errorCodesOf } from '../src/http/openapi';
import { requestLog } from '../src/http/request-log';
import { JSON_BODY_LIMIT_BYTES, defineRoute, routerFor, type Route } from '../src/http/route';
import { testLogger } from '../../../test/support/pipeline';

const OWNER_KEY = 'owner-key';
const ADMIN_KEY = 'admin-key';

/** What the routes below saw of each call, for the assertions. */
const seen: unknown[] = [];

const routes: Route[] = [
  defineRoute({
    operationId: 'ownerThing',
    method: 'get',
    path: '/things/{id}',
    tags: ['test'],
    summary: 'an owner route',
    auth: 'owner',
    params: z.object({ id: z.string() }),
    responses: { 200: { description: 'ok', schema: z.object({ ownerId: z.string() }) } },
    errors: [],
    handle: async ({ ownerId, caller }) => {
      seen.push(caller);
      return { status: 200, body: { ownerId } };
    },
  }),
  defineRoute({
    operationId: 'adminThing',
    method: 'get',
    path: '/admin/things',
    tags: ['test'],
    summary: 'an admin route',
    auth: 'admin',
    responses: { 200: { description: 'ok', schema: z.object({ adminName: z.string() }) } },
    errors: [],
    handle: async ({ caller }) => ({ status: 200, body: { adminName: caller.adminName } }),
  }),
  defineRoute({
    operationId: 'eitherThing',
    method: 'get',
    path: '/either',
    tags: ['test'],
    summary: 'a route for owners and admins',
    auth: 'owner-or-admin',
    responses: { 200: { description: 'ok', schema: z.object({ kind: z.string() }) } },
    errors: [],
    handle: async ({ caller }) => ({ status: 200, body: { kind: caller.kind } }),
  }),
  defineRoute({
    operationId: 'renameThing',
    method: 'patch',
    path: '/things/{id}',
    tags: ['test'],
    summary: 'a JSON body',
    auth: 'owner',
    params: z.object({ id: z.string() }),
    body: { contentType: 'application/json', schema: z.object({ title: z.string().max(10), tags: z.array(z.string()).optional() }).strict() },
    responses: { 200: { description: 'ok', schema: z.object({ title: z.string() }) } },
    errors: [],
    handle: async ({ body }) => {
      seen.push(body);
      return { status: 200, body: { title: body.title } };
    },
  }),
  defineRoute({
    operationId: 'deleteThing',
    method: 'delete',
    path: '/things/{id}',
    tags: ['test'],
    summary: 'an answer without a body',
    auth: 'owner',
    params: z.object({ id: z.string() }),
    responses: { 204: { description: 'deleted' } },
    errors: [],
    handle: async () => ({ status: 204, body: undefined }),
  }),
];

describe('the route layer: keys of two kinds, JSON bodies, answers without a body', () => {
  let server: http.Server;
  let baseUrl: string;

  beforeAll(async () => {
    const app = express();
    app.use(requestLog(testLogger()));
    app.use(routerFor(routes, authenticator({ owners: new Map([[OWNER_KEY, 'olga']]), admins: new Map([[ADMIN_KEY, 'rita']]) })));
    app.use(noSuchRoute);
    app.use(answerErrors(DEFAULT_DISCARD_LIMITS));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const call = async (method: string, path: string, init: { key?: string; json?: unknown; body?: string; contentType?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (init.key) headers.authorization = `Bearer ${init.key}`;
    let body: string | undefined = init.body;
    if (init.json !== undefined) body = JSON.stringify(init.json);
    if (body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, text, json: text ? (JSON.parse(text) as { error?: { code: string; details?: Record<string, unknown> } } & Record<string, unknown>) : undefined };
  };

  it('gives an owner route the owner, and refuses an admin key there as forbidden', async () => {
    expect(await call('GET', '/things/1', { key: OWNER_KEY })).toMatchObject({ status: 200, json: { ownerId: 'olga' } });
    expect(seen).toEqual([{ kind: 'owner', ownerId: 'olga' }]);
    expect(await call('GET', '/things/1', { key: ADMIN_KEY })).toMatchObject({ status: 403, json: { error: { code: 'forbidden' } } });
  });

  it('gives an admin route the admin, and refuses an owner key there as forbidden and no key as unauthorized', async () => {
    expect(await call('GET', '/admin/things', { key: ADMIN_KEY })).toMatchObject({ status: 200, json: { adminName: 'rita' } });
    expect(await call('GET', '/admin/things', { key: OWNER_KEY })).toMatchObject({ status: 403, json: { error: { code: 'forbidden' } } });
    expect(await call('GET', '/admin/things')).toMatchObject({ status: 401, json: { error: { code: 'unauthorized' } } });
    expect(await call('GET', '/admin/things', { key: 'nobody' })).toMatchObject({ status: 401, json: { error: { code: 'unauthorized' } } });
  });

  it('takes either kind of key where the route says so', async () => {
    expect(await call('GET', '/either', { key: OWNER_KEY })).toMatchObject({ status: 200, json: { kind: 'owner' } });
    expect(await call('GET', '/either', { key: ADMIN_KEY })).toMatchObject({ status: 200, json: { kind: 'admin' } });
  });

  it('hands a handler its JSON body parsed and validated', async () => {
    expect(await call('PATCH', '/things/1', { key: OWNER_KEY, json: { title: 'new', tags: ['a'] } })).toMatchObject({ status: 200, json: { title: 'new' } });
    expect(seen).toEqual([{ title: 'new', tags: ['a'] }]);
  });

  it('refuses a body that breaks its schema, naming the field, before the handler runs', async () => {
    const tooLong = await call('PATCH', '/things/1', { key: OWNER_KEY, json: { title: 'far too long a title' } });
    expect(tooLong).toMatchObject({ status: 400, json: { error: { code: 'invalid_request', details: { in: 'body', field: 'title' } } } });
    const unknown = await call('PATCH', '/things/1', { key: OWNER_KEY, json: { title: 'ok', extra: 1 } });
    expect(unknown).toMatchObject({ status: 400, json: { error: { code: 'invalid_request', details: { in: 'body' } } } });
    expect(seen).toEqual([]);
  });

  it('refuses JSON that does not parse, another content type, and a body over the limit, each with its code', async () => {
    expect(await call('PATCH', '/things/1', { key: OWNER_KEY, body: '{"title": ' })).toMatchObject({ status: 400, json: { error: { code: 'invalid_request', details: { in: 'body' } } } });
    expect(await call('PATCH', '/things/1', { key: OWNER_KEY, body: 'title=new', contentType: 'application/x-www-form-urlencoded' })).toMatchObject({ status: 415, json: { error: { code: 'not_json' } } });
    const huge = { title: 'x', tags: ['y'.repeat(JSON_BODY_LIMIT_BYTES)] };
    expect(await call('PATCH', '/things/1', { key: OWNER_KEY, json: huge })).toMatchObject({ status: 413, json: { error: { code: 'body_too_large' } } });
    expect(seen).toEqual([]);
  });

  it('refuses a path that is not valid percent-encoding, saying it is the path', async () => {
    expect(await call('GET', '/things/%zz', { key: OWNER_KEY })).toMatchObject({ status: 400, json: { error: { code: 'invalid_request', details: { in: 'path' } } } });
    expect(seen).toEqual([]);
  });

  it('checks the key before it reads a JSON body', async () => {
    expect(await call('PATCH', '/things/1', { body: '{"title": ' })).toMatchObject({ status: 401, json: { error: { code: 'unauthorized' } } });
  });

  it('answers 204 with no body at all', async () => {
    const answer = await call('DELETE', '/things/1', { key: OWNER_KEY });
    expect(answer).toEqual({ status: 204, text: '', json: undefined });
  });

  it('documents the codes each kind of route may answer', () => {
    const [owner, , , rename] = routes;
    expect(errorCodesOf(owner!)).toEqual(expect.arrayContaining(['unauthorized', 'forbidden']));
    expect(errorCodesOf(owner!)).not.toContain('not_json');
    expect(errorCodesOf(rename!)).toEqual(expect.arrayContaining(['unauthorized', 'forbidden', 'not_json', 'body_too_large']));
  });
});
