import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { z } from 'zod';
import { errorCodes, type ErrorCode } from '@video-pipeline/errors';
import { takesJson, type Route } from './route';

/** Every route may answer these: a malformed request line or parameter, and our own failures. */
export const commonErrors: readonly ErrorCode[] = ['invalid_request', 'internal'];
/** Routes that need an API key also answer these. */
export const authErrors: readonly ErrorCode[] = ['unauthorized', 'forbidden'];
/** Routes that take a JSON body also answer these. */
export const jsonBodyErrors: readonly ErrorCode[] = ['not_json', 'body_too_large'];

export const API_KEY_SCHEME = 'apiKey';

export const requestIdHeader = z.object({
  'X-Request-Id': z.string().meta({ description: 'the request\'s id: the client\'s own `X-Request-Id` when it sent a usable one, else a new UUID; also in the logs' }),
});

/** The codes a route answers, its own and the common ones, in the closed list's order. */
export function errorCodesOf(route: Route): ErrorCode[] {
  const declared = new Set([...route.errors, ...commonErrors, ...(route.auth !== 'public' ? authErrors : []), ...(takesJson(route) ? jsonBodyErrors : [])]);
  return (Object.keys(errorCodes) as ErrorCode[]).filter((code) => declared.has(code));
}

/** The error body, with `code` narrowed to the codes that share one status on one route. */
function errorBody(codes: readonly ErrorCode[]) {
  return z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]).meta({ description: 'match on this; the list is closed' }),
      message: z.string().meta({ description: 'for people; may change' }),
      details: z.record(z.string(), z.unknown()).optional().meta({ description: 'machine-readable facts, e.g. `field` or `maxBytes`' }),
    }),
    requestId: z.string().meta({ description: 'the request\'s id, as in `X-Request-Id`' }),
  });
}

/** One error answer per status, listing the codes that share it, in the order given. */
export function errorResponses(codes: readonly ErrorCode[]): ZodOpenApiResponsesObject {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(errorCodes[code].status, [...(byStatus.get(errorCodes[code].status) ?? []), code]);
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, sharing] of byStatus) {
    responses[`${status}` as `${4 | 5}${string}`] = {
      description: sharing.map((code) => `\`${code}\``).join(', '),
      headers: requestIdHeader,
      content: { 'application/json': { schema: errorBody(sharing) } },
    };
  }
  return responses;
}

function operation(route: Route): ZodOpenApiOperationObject {
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, answer] of Object.entries(route.responses)) {
    responses[status as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: answer.description,
      headers: answer.headers ? requestIdHeader.extend(answer.headers.shape) : requestIdHeader,
      ...(answer.schema && { content: { 'application/json': { schema: answer.schema } } }),
    };
  }
  Object.assign(responses, errorResponses(errorCodesOf(route)));
  return {
    operationId: route.operationId,
    tags: route.tags,
    summary: route.summary,
    ...(route.description && { description: route.description }),
    security: route.auth === 'public' ? [] : [{ [API_KEY_SCHEME]: [] }],
    ...(route.auth !== 'public' && { 'x-api-key-kind': route.auth }),
    requestParams: { ...(route.params && { path: route.params }), ...(route.query && { query: route.query }), ...(route.headers && { header: route.headers }) },
    ...(route.body && {
      requestBody: { required: true, ...(route.body.description && { description: route.body.description }), content: { [route.body.contentType]: { schema: route.body.schema } } },
    }),
    responses,
  };
}

/**
 * The OpenAPI 3.1 document of `routes`, generated from the zod schemas they
 * are served with, and of `servedElsewhere`: operations served outside the
 * route layer (tus), described by hand beside the code that serves them.
 */
export function openApiDocument(routes: readonly Route[], info: { title: string; version: string; description: string }, servedElsewhere: ZodOpenApiPathsObject = {}) {
  const paths: ZodOpenApiPathsObject = { ...servedElsewhere };
  for (const route of routes) paths[route.path] = { ...paths[route.path], [route.method]: operation(route) };
  return createDocument({
    openapi: '3.1.0',
    info,
    tags: [...new Set([...routes.flatMap((route) => route.tags), ...tagsOf(servedElsewhere)])].map((name) => ({ name })),
    components: {
      securitySchemes: {
        [API_KEY_SCHEME]: { type: 'http', scheme: 'bearer', description: 'an API key: `Authorization: Bearer <key>`; keys map to owners through `API_KEYS`, and to admins (reviewers) through `ADMIN_API_KEYS`. `x-api-key-kind` says which a route takes: `owner`, `admin` or `owner-or-admin`' },
      },
    },
    paths,
  });
}

function tagsOf(paths: ZodOpenApiPathsObject): string[] {
  return Object.values(paths).flatMap((item) => Object.values(item ?? {}).flatMap((operation) => (operation as { tags?: string[] } | undefined)?.tags ?? []));
}
