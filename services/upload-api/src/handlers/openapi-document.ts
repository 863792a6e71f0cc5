import { defineRoute } from '../http/route';
import { openApiDocumentSchema } from '../schemas';

/** GET /openapi.json: this API's OpenAPI 3.1 document, generated from the routes' own schemas. */
export function openApiDocumentRoute(document: () => Record<string, unknown>) {
  return defineRoute({
    operationId: 'openApiDocument',
    method: 'get',
    path: '/openapi.json',
    tags: ['operations'],
    summary: 'This document',
    auth: 'public',
    responses: { 200: { description: 'the OpenAPI 3.1 document of this API', schema: openApiDocumentSchema } },
    errors: [],
    handle: async () => ({ status: 200, body: document() as { openapi: string } }),
  });
}
