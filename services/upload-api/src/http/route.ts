import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { PipelineError, type ErrorCode } from '@video-pipeline/errors';
import './locals';
import type { Logger } from '@video-pipeline/logging';
import type { Access, Caller } from '../auth';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Shape = z.ZodObject | undefined;
type Parsed<S extends Shape> = S extends z.ZodObject ? z.output<S> : Record<string, never>;
type BodyShape = z.ZodType | undefined;

/** JSON bodies are small: the only large body, an upload, is streamed by its handler. */
export const JSON_BODY_LIMIT_BYTES = 64 * 1024;
const JSON_CONTENT_TYPE = 'application/json';

export interface ResponseSpec {
  description: string;
  /** The JSON body; none for 204. */
  schema?: z.ZodType;
  headers?: z.ZodObject;
}

type Responses = Record<number, ResponseSpec>;

/** What a handler answers: one of the route's declared responses, with its body and headers. */
export type Answer<R extends Responses> = {
  [Status in keyof R & number]: {
    status: Status;
    body: R[Status]['schema'] extends z.ZodType ? z.input<R[Status]['schema']> : undefined;
  } & (R[Status]['headers'] extends z.ZodObject ? { headers: z.input<R[Status]['headers']> } : { headers?: undefined });
}[keyof R & number];

type CallerFor<A extends Access> = A extends 'owner'
  ? Extract<Caller, { kind: 'owner' }>
  : A extends 'admin'
    ? Extract<Caller, { kind: 'admin' }>
    : A extends 'owner-or-admin'
      ? Caller
      : undefined;

/** What a handler receives: the request with its parameters, query and JSON body already validated. */
export interface RouteCall<P extends Shape, Q extends Shape, A extends Access, B extends BodyShape = undefined> {
  req: Request;
  res: Response;
  params: Parsed<P>;
  query: Parsed<Q>;
  /** A JSON body, parsed and validated against the route's `body.schema`; undefined for other bodies. */
  body: B extends z.ZodType ? z.output<B> : undefined;
  /** Who the API key belongs to, on routes that need one. */
  caller: CallerFor<A>;
  /** The owner of the API key, on owners' routes. */
  ownerId: A extends 'owner' ? string : undefined;
  /** Carries the request id on every line. */
  log: Logger;
}

/**
 * One route: its contract (parameters, body, answers, error codes, auth) and
 * its handler. The router serves it and the OpenAPI document describes it
 * from this one definition, so a route cannot exist without its
 * documentation, and a handler can only answer what the document says.
 */
export interface RouteSpec<P extends Shape, Q extends Shape, R extends Responses, A extends Access, B extends BodyShape = undefined> {
  operationId: string;
  method: Method;
  /** An OpenAPI path template, e.g. `/v1/videos/{id}`. */
  path: `/${string}`;
  tags: string[];
  summary: string;
  description?: string;
  /**
   * Which API key (`Authorization: Bearer <key>`) the request needs: none
   * (`public`), an owner's (`API_KEYS`), an admin's (`ADMIN_API_KEYS`), or either.
   */
  auth: A;
  params?: P;
  query?: Q;
  /**
   * Request headers the route reads, by their canonical names (e.g.
   * `Idempotency-Key`): checked before the handler runs, like `params` and
   * `query`, and documented as header parameters. The handler reads them
   * from `req` itself.
   */
  headers?: z.ZodObject;
  /**
   * The request body. An `application/json` body is parsed (up to
   * JSON_BODY_LIMIT_BYTES) and validated against `schema` before the handler
   * runs; any other (an upload) the handler streams itself.
   */
  body?: { contentType: string; schema: NonNullable<B>; description?: string };
  responses: R;
  /** The error codes this route answers besides those every route may (see `openapi.ts`). */
  errors: readonly ErrorCode[];
  /** Probes log their requests at debug, so that a console shows the requests people make. */
  logLevel?: 'debug';
  handle(call: RouteCall<P, Q, A, B>): Promise<Answer<NoInfer<R>>>;
}

/** A route with its types erased, as routers and the document hold them. */
export type Route = RouteSpec<Shape, Shape, Responses, Access, BodyShape>;

export function defineRoute<P extends Shape = undefined, Q extends Shape = undefined, R extends Responses = Responses, A extends Access = Access, B extends BodyShape = undefined>(
  spec: RouteSpec<P, Q, R, A, B>,
): Route {
  return spec as unknown as Route;
}

/** Whether the router parses and validates the route's body (JSON), rather than its handler streaming it. */
export const takesJson = (route: Route): boolean => route.body?.contentType === JSON_CONTENT_TYPE;

/** `/v1/videos/{id}` → `/v1/videos/:id` */
export function expressPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

/** An express router serving `routes`, each behind `authenticate(access)` when it needs an API key. */
export function routerFor(routes: readonly Route[], authenticate: (access: Exclude<Access, 'public'>) => RequestHandler): Router {
  // Paths match exactly, as documented: `/v1/videos/` and `/V1/videos` are not `/v1/videos`.
  const router = Router({ strict: true, caseSensitive: true });
  for (const route of routes) {
    const serve: RequestHandler = async (req, res) => {
      if (route.logLevel) res.locals.logLevel = route.logLevel;
      if (route.headers) parseInput(route.headers, headersNamed(route.headers, req), 'header');
      const answer = await route.handle({
        req,
        res,
        params: parseInput(route.params, req.params, 'path'),
        query: parseInput(route.query, req.query, 'query'),
        body: takesJson(route) ? parseBody(route.body!.schema, req.body) : undefined,
        caller: res.locals.caller as never,
        ownerId: res.locals.ownerId,
        log: req.log,
      });
      // A streamed answer (a file, Server-Sent Events) was written by its handler.
      if (res.headersSent) return;
      for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, String(value));
      if (answer.body === undefined) res.status(answer.status).end();
      else res.status(answer.status).json(answer.body);
    };
    const guards = route.auth === 'public' ? [] : [authenticate(route.auth)];
    const bodyParsers = takesJson(route) ? jsonBody : [];
    router[route.method](expressPath(route.path), ...guards, ...bodyParsers, serve);
  }
  return router;
}

/** Parses a JSON body, after the key is checked; refuses another content type and an oversized body with their codes. */
const jsonBody: RequestHandler[] = [
  (req, _res, next) => {
    if (!req.is(JSON_CONTENT_TYPE)) throw new PipelineError('not_json', `send the body as ${JSON_CONTENT_TYPE}`);
    next();
  },
  express.json({ limit: JSON_BODY_LIMIT_BYTES, strict: false }),
];

/** The request's values of the headers a schema names (Node lower-cases the names it received). */
function headersNamed(schema: z.ZodObject, req: Request): Record<string, string | string[] | undefined> {
  return Object.fromEntries(Object.keys(schema.shape).map((name) => [name, req.headers[name.toLowerCase()]]));
}

function parseInput(schema: Shape, input: unknown, where: 'path' | 'query' | 'header'): Record<string, never> {
  if (!schema) return {};
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data as Record<string, never>;
  const [issue] = parsed.error.issues;
  throw new PipelineError('invalid_request', issue!.message, { details: { in: where, parameter: issue!.path.join('.') } });
}

function parseBody(schema: z.ZodType, input: unknown): never {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data as never;
  const [issue] = parsed.error.issues;
  throw new PipelineError('invalid_request', issue!.message, { details: { in: 'body', field: issue!.path.join('.') } });
}
