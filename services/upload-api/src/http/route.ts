import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { PipelineError, type ErrorCode } from '@video-pipeline/errors';
import './locals';
import type { Logger } from '@video-pipeline/logging';

type Method = 'get' | 'post';
type Shape = z.ZodObject | undefined;
type Parsed<S extends Shape> = S extends z.ZodObject ? z.output<S> : Record<string, never>;

export interface ResponseSpec {
  description: string;
  schema: z.ZodType;
  headers?: z.ZodObject;
}

type Responses = Record<number, ResponseSpec>;

/** What a handler answers: one of the route's declared responses, with its body and headers. */
export type Answer<R extends Responses> = {
  [Status in keyof R & number]: {
    status: Status;
    body: z.input<R[Status]['schema']>;
  } & (R[Status]['headers'] extends z.ZodObject ? { headers: z.input<R[Status]['headers']> } : { headers?: undefined });
}[keyof R & number];

/** What a handler receives: the request with its parameters and query already validated. */
export interface RouteCall<P extends Shape, Q extends Shape, Auth extends boolean> {
  req: Request;
  res: Response;
  params: Parsed<P>;
  query: Parsed<Q>;
  /** The owner of the API key, on routes that need one. */
  ownerId: Auth extends true ? string : undefined;
  /** Carries the request id on every line. */
  log: Logger;
}

/**
 * One route: its contract (parameters, body, answers, error codes, auth) and
 * its handler. The router serves it and the OpenAPI document describes it
 * from this one definition, so a route cannot exist without its
 * documentation, and a handler can only answer what the document says.
 */
export interface RouteSpec<P extends Shape, Q extends Shape, R extends Responses, Auth extends boolean> {
  operationId: string;
  method: Method;
  /** An OpenAPI path template, e.g. `/v1/videos/{id}`. */
  path: `/${string}`;
  tags: string[];
  summary: string;
  description?: string;
  /** Whether the request needs an API key (`Authorization: Bearer <key>`). */
  auth: Auth;
  params?: P;
  query?: Q;
  /** The request body, for the document: the handler reads it itself, since uploads are streamed rather than parsed up front. */
  body?: { contentType: string; schema: z.ZodType; description?: string };
  responses: R;
  /** The error codes this route answers besides those every route may (see `openapi.ts`). */
  errors: readonly ErrorCode[];
  /** Probes log their requests at debug, so that a console shows the requests people make. */
  logLevel?: 'debug';
  handle(call: RouteCall<P, Q, Auth>): Promise<Answer<NoInfer<R>>>;
}

/** A route with its types erased, as routers and the document hold them. */
export type Route = RouteSpec<Shape, Shape, Responses, boolean>;

export function defineRoute<P extends Shape = undefined, Q extends Shape = undefined, R extends Responses = Responses, Auth extends boolean = boolean>(
  spec: RouteSpec<P, Q, R, Auth>,
): Route {
  return spec as unknown as Route;
}

/** `/v1/videos/{id}` → `/v1/videos/:id` */
export function expressPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

/** An express router serving `routes`, each behind `authenticate` when it needs an API key. */
export function routerFor(routes: readonly Route[], authenticate: RequestHandler): Router {
  // Paths match exactly, as documented: `/v1/videos/` and `/V1/videos` are not `/v1/videos`.
  const router = Router({ strict: true, caseSensitive: true });
  for (const route of routes) {
    const serve: RequestHandler = async (req, res) => {
      if (route.logLevel) res.locals.logLevel = route.logLevel;
      const answer = await route.handle({
        req,
        res,
        params: parseInput(route.params, req.params, 'path'),
        query: parseInput(route.query, req.query, 'query'),
        ownerId: res.locals.ownerId,
        log: req.log,
      });
      for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, String(value));
      res.status(answer.status).json(answer.body);
    };
    router[route.method](expressPath(route.path), ...(route.auth ? [authenticate] : []), serve);
  }
  return router;
}

function parseInput(schema: Shape, input: unknown, where: 'path' | 'query'): Record<string, never> {
  if (!schema) return {};
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data as Record<string, never>;
  const [issue] = parsed.error.issues;
  throw new PipelineError('invalid_request', issue!.message, { details: { in: where, parameter: issue!.path.join('.') } });
}
