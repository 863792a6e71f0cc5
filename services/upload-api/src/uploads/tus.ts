import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { ERRORS, EVENTS, Server, TUS_RESUMABLE, type Locker, type ServerOptions } from '@tus/server';
import type { StorageConfig } from '@video-pipeline/config';
import { PipelineError, isPipelineError } from '@video-pipeline/errors';
import type { Logger } from '@video-pipeline/logging';
import type { ObjectStorage } from '@video-pipeline/storage';
import { asPipelineError } from '../http/errors';
import { uploadForm } from '../schemas';
import type { VideoRepository } from '../video-repository';
import type { PendingUploads } from './pending-uploads';
import type { QuotaLimits } from './quotas';
import { underUploadLock } from './tus-locker';
import { tusRefusal, tusVersionRefusal } from './tus-refusals';
import { TusVideoStore, withDeclaredBodyLength } from './tus-store';

/** Where the tus endpoint is mounted: `POST /v1/uploads` creates, `/v1/uploads/<id>` is an upload. */
export const TUS_PATH = '/v1/uploads';
/** Headers that tell a client which video its finished upload became (final PATCH, later HEAD). */
export const VIDEO_ID_HEADER = 'Video-Id';
export const VIDEO_URL_HEADER = 'Video-Url';

/** An upload's object: the tus store's id is the key, so a finished upload is the video's original, in place. */
export const tusObjectKey = (uploadId: string) => `videos/${uploadId}/original`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uploadIdOfKey = (key: string) => key.split('/')[1]!;

export interface TusDeps {
  videos: VideoRepository;
  pending: PendingUploads;
  storage: ObjectStorage;
  storageConfig: StorageConfig;
  maxUploadBytes: number;
  quotas: QuotaLimits;
  expiryMs: number;
  corsOrigins?: readonly string[];
  authenticate: RequestHandler;
  /** Each upload's requests take turns through it, on whichever instance they land (`PostgresLocker`). */
  locker: Locker;
  logger: Logger;
}

/** The srvx request tus hands its hooks carries the node request and response it wraps. */
type HookRequest = { runtime?: { node?: { req: IncomingMessage; res: ServerResponse } } };
type NodeExchange = { req: Request; res: Response };
const nodeOf = (req: unknown) => (req as HookRequest).runtime!.node! as NodeExchange;

export interface TusEndpoint {
  /** Express middleware for `/v1/uploads` (every path but `/direct...`). */
  handler: RequestHandler;
  /** Removes an upload's data from storage (for the sweeper). */
  removeUpload(uploadId: string): Promise<void>;
}

/**
 * Resumable uploads (tus 1.0: core, creation, creation-with-upload,
 * creation-defer-length, expiration, termination) on `@tus/server` with
 * `@tus/s3-store`: parts go to an S3 multipart upload at the video's key. The
 * API key is checked here and every upload is its owner's alone (others get
 * 404, as for a missing one). The last byte runs the same completion as
 * `POST /v1/videos`, once however often it is retried.
 */
export function tusEndpoint(deps: TusDeps): TusEndpoint {
  const { storageConfig: s3 } = deps;
  const store = new TusVideoStore({
    expirationPeriodInMilliseconds: deps.expiryMs,
    // s3-store's tags serve a bucket lifecycle rule; our sweeper works from the database instead.
    useTags: false,
    // s3-store's own write (a chunked request only; see TusVideoStore) uploads this many of its temporary part
    // files at once: 60 by default, 4 kept a 768 MiB upload's API RSS growth at 97 MB instead of 134 (bench upload-tus).
    maxConcurrentPartUploads: 4,
    s3ClientConfig: {
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      // Parts go out as streams; with the SDK's default checksums those went out aws-chunked and failed as
      // non-retryable (most 50 MiB PATCHes answered 500 once), so checksums only where required.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      // Without a logger the SDK prints to the console, with a stack, every time a client cuts a request
      // ("non-retryable streaming request"): expected here, so its messages go to our log at debug.
      logger: sdkLogger(deps.logger.child({ component: 'tus-storage' })),
    },
    maxUploadBytes: deps.maxUploadBytes,
    onRefused: async (key) => {
      await store.removeAll(key);
      await deps.pending.remove(uploadIdOfKey(key));
    },
  });

  /**
   * Our failure of a tus request, as the rest of the API answers: our
   * JSON error body with its code (storage out of reach is 503
   * `storage_unavailable`, as for `POST /v1/videos`), logged with the
   * request's line. tus' own protocol refusals (a 409 offset conflict, say)
   * are left to `JsonErrorsServer`, which answers them at tus' status.
   */
  const asTusError = (req: unknown, error: unknown) => {
    if (!isPipelineError(error) && typeof (error as { status_code?: unknown }).status_code === 'number') return undefined;
    const failure = asPipelineError(error);
    return { status_code: failure.status, body: errorBody(failure, error, nodeOf(req)) };
  };

  /**
   * The completion of a fully received upload: its size, SHA-256 and type
   * from the bytes as the store saw them, or, if it did not see them all, from
   * the object read back; then the video and its event are recorded, once.
   */
  const finish = async (ownerId: string, upload: { id: string; size?: number; metadata?: Record<string, string | null> }, options: { keepNotes?: boolean } = {}): Promise<string> => {
    const uploadId = uploadIdOfKey(upload.id);
    const row = await deps.pending.findForOwner(uploadId, ownerId, 'tus');
    const seen = upload.size === undefined ? undefined : store.digestOf(upload.id, upload.size);
    const stored = seen ? { bucket: deps.storage.bucket, key: upload.id, ...seen } : await deps.storage.inspectVideo(upload.id);
    try {
      const { video } = await deps.videos.completeUpload(
        uploadId,
        { id: uploadId, ownerId, title: row?.title ?? parseTitle(upload.metadata?.title), object: stored },
        { quotas: deps.quotas, pending: true },
      );
      // The store's notes on the upload are not needed once it is a video: HEAD and PATCH on it are answered from the database.
      if (!options.keepNotes) await forget(upload.id);
      return video.id;
    } catch (error) {
      // Over quota once its size is known (a deferred length): refused, and nothing is kept.
      if (isPipelineError(error) && (error.code === 'storage_quota_exceeded' || error.code === 'upload_quota_exceeded')) {
        await store.removeAll(upload.id);
        await deps.pending.remove(uploadId);
      }
      throw error;
    }
  };

  /**
   * The uploads being created, by request, from their reservation until tus
   * answers. A creation answered with an error is removed: its client got no
   * URL for it (tus-js-client creates another), and its row would count
   * against the owner's quotas for a day.
   */
  const creations = new WeakMap<IncomingMessage, { key: string; inStorage: boolean }>();
  const undoCreation = async (req: IncomingMessage) => {
    const creation = creations.get(req);
    if (!creation) return;
    creations.delete(req);
    const uploadId = uploadIdOfKey(creation.key);
    try {
      // Nothing to remove from storage if tus never got to start the upload there (storage out of reach, say).
      if (creation.inStorage) await store.removeAll(creation.key);
    } catch (error) {
      // Storage out of reach: the row stays for the sweeper, which removes both once the upload expires.
      deps.logger.warn({ err: error, uploadId }, 'could not remove a failed tus creation from storage; the sweeper will');
      return;
    }
    await deps.pending.remove(uploadId).catch((error: unknown) => deps.logger.warn({ err: error, uploadId }, 'could not remove a failed tus creation’s row; the sweeper will'));
  };

  /**
   * The length of each upload whose PATCH tus cut off for its size, by
   * request: tus refuses a chunked body past the upload's length as it
   * refuses one past the largest upload, and only the length tells which.
   */
  const refusedLengths = new WeakMap<IncomingMessage, number>();
  const noteRefusedLength = async (req: unknown, error: unknown) => {
    const { req: request } = nodeOf(req);
    if (request.method !== 'PATCH' || (error as { body?: unknown }).body !== ERRORS.ERR_MAX_SIZE_EXCEEDED.body) return;
    const upload = await store.getUpload(tusObjectKey(request.path.slice(1))).catch(() => undefined);
    if (upload?.size !== undefined) refusedLengths.set(request, upload.size);
  };

  const forget = (key: string) => store.forget(key).catch((error: unknown) => deps.logger.warn({ err: error, key }, 'could not remove a finished upload’s .info'));

  const options: ServerOptions = {
    path: TUS_PATH,
    maxSize: deps.maxUploadBytes,
    relativeLocation: true,
    disableTerminationForFinishedUploads: true,
    allowedOrigins: (origin) => Boolean(deps.corsOrigins?.includes('*') || deps.corsOrigins?.includes(origin)),
    exposedHeaders: [VIDEO_ID_HEADER, VIDEO_URL_HEADER, 'X-Request-Id', 'Retry-After'],
    // An upload's requests take turns across every instance; the completion's primary key keeps it to one video regardless.
    locker: deps.locker,
    // A request cut off mid-way finishes with storage (aborts the part it was sending, puts back a tail it took)
    // before the next one on its upload may start; storage under load may take seconds for that. Cut short, the
    // two would overlap.
    lockDrainTimeout: 10_000,
    namingFunction: () => tusObjectKey(randomUUID()),
    generateUrl: (_req, { path, id }) => `${path}/${uploadIdOfKey(id)}`,
    getFileIdFromRequest: (_req, lastPath) => (lastPath && UUID.test(lastPath) ? tusObjectKey(lastPath) : undefined),
    onUploadCreate: async (req, upload) => {
      const ownerId = nodeOf(req).res.locals.ownerId!;
      const title = parseTitle(upload.metadata?.title);
      await deps.pending.reserve({
        id: uploadIdOfKey(upload.id),
        ownerId,
        kind: 'tus',
        objectKey: upload.id,
        sizeBytes: upload.size,
        title,
      });
      creations.set(nodeOf(req).req, { key: upload.id, inStorage: false });
      return {};
    },
    // A creation that carried the whole file is still a creation (201, with its Location); and tus reads the
    // upload's notes again after this hook to answer it, so they are removed once it has answered (POST_FINISH).
    onUploadFinish: async (req, upload) => {
      const creating = req.method === 'POST';
      const videoId = await finish(nodeOf(req).res.locals.ownerId!, upload, { keepNotes: creating });
      // A video now: an error tus meets after this (reading the upload back to answer) must not undo the creation.
      creations.delete(nodeOf(req).req);
      return { status_code: creating ? 201 : 204, headers: videoHeaders(videoId) };
    },
    onResponseError: async (req, error) => {
      await undoCreation(nodeOf(req).req);
      await noteRefusedLength(req, error);
      return asTusError(req, error);
    },
  };
  const server = new JsonErrorsServer({ ...options, datastore: store }, (answer, exchange) => {
    const refusal = tusRefusal({ ...answer, method: exchange.req.method, headers: exchange.req.headers, uploadLength: refusedLengths.get(exchange.req) }, deps.maxUploadBytes);
    return refusal && { status: refusal.error.status, body: errorBody(refusal.error, refusal.error, exchange), headers: refusal.headers };
  });
  server.on(EVENTS.POST_CREATE, (req) => {
    const creation = creations.get(nodeOf(req).req);
    if (creation) creation.inStorage = true;
  });
  server.on(EVENTS.POST_FINISH, (req, _res, upload) => {
    if (req.method === 'POST') void forget(upload.id);
  });

  const handler: RequestHandler = async (req, res, next) => {
    if (req.path === '/direct' || req.path.startsWith('/direct/')) return next();
    // OPTIONS is public: it announces the protocol, and browsers send it without a key (CORS preflight).
    if (req.method !== 'OPTIONS') {
      // Every tus answer says the protocol, ours too (401, 404, a finished upload's); tus sets it again on its own.
      res.setHeader('Tus-Resumable', TUS_RESUMABLE);
      deps.authenticate(req, res, () => undefined);
      const ownerId = res.locals.ownerId!;
      if (req.path === '/') {
        if (req.method !== 'POST') throw new PipelineError('not_found', `no route ${req.method} ${req.originalUrl}`);
      } else {
        const uploadId = /^\/([^/]+)$/.exec(req.path)?.[1];
        if (!uploadId || !UUID.test(uploadId) || !['HEAD', 'PATCH', 'DELETE'].includes(req.method)) {
          throw new PipelineError('not_found', 'no such upload');
        }
        // tus refuses another protocol version before it looks for the upload; the answers below never reach it.
        const versionRefusal = tusVersionRefusal(req.headers);
        if (versionRefusal) {
          res.set(versionRefusal.headers ?? {});
          throw versionRefusal.error;
        }
        const pending = await deps.pending.findForOwner(uploadId, ownerId, 'tus');
        if (pending && req.method === 'DELETE') {
          // Under the lock: a PATCH still running would put its tail (`.part`) back after the removal, left to nobody.
          await underUploadLock(deps.locker, tusObjectKey(uploadId), async () => {
            await store.removeAll(tusObjectKey(uploadId));
            await deps.pending.remove(uploadId);
          });
          res.status(204).end();
          return;
        }
        if (pending && req.method === 'HEAD') {
          // All bytes are in but the video was not recorded (its final answer failed, or is still running): HEAD completes it.
          // Under the upload's lock: a request cut off mid-way may still be storing its last bytes.
          await underUploadLock(deps.locker, tusObjectKey(uploadId), async () => {
            const upload = await store.getUpload(tusObjectKey(uploadId)).catch(() => undefined);
            if (upload?.size !== undefined && upload.offset === upload.size) {
              for (const [name, value] of Object.entries(videoHeaders(await finish(ownerId, upload)))) res.setHeader(name, value);
            }
          });
        }
        if (!pending) {
          const video = await deps.videos.completedVideo(uploadId);
          if (!video || video.ownerId !== ownerId) throw new PipelineError('not_found', 'no such upload');
          // A finished upload is its video: HEAD says so, a final request sent again after its answer was lost stores nothing more.
          if (req.method === 'DELETE') throw new PipelineError('upload_finished', `the upload is finished: it is the video ${video.id}; delete the video instead`, { details: { videoId: video.id } });
          const size = String(video.sizeBytes);
          res.set({ 'Upload-Offset': size, 'Cache-Control': 'no-store', ...videoHeaders(video.id) });
          if (req.method === 'HEAD') res.set('Upload-Length', size).status(200).end();
          else res.status(204).end();
          return;
        }
      }
    }
    await withDeclaredBodyLength(req, () => server.handle(req, res));
  };

  return { handler, removeUpload: (uploadId) => store.removeAll(tusObjectKey(uploadId)) };
}

/** Our error body for `failure` of a tus request (`error` as thrown), noted for the request's log line. */
function errorBody(failure: PipelineError, error: unknown, { req, res }: NodeExchange): string {
  res.locals.errorCode = failure.code;
  // The request's log line carries it, with its stack (as answerErrors does): logged once.
  if (failure.status >= 500) res.err = error instanceof Error ? error : failure;
  const retryAfter = failure.details?.retryAfterSeconds;
  if (typeof retryAfter === 'number' && !res.headersSent) res.setHeader('Retry-After', String(Math.ceil(retryAfter)));
  return JSON.stringify({ ...failure.toJSON(), requestId: req.id });
}

/** tus' plain-text refusal (`status`, `body`) of the request `exchange`, as our answer (tus' status but for a lock's timeout), and headers to add; undefined to leave it as it is. */
type RefusalAnswer = (answer: { status: number; body: string }, exchange: NodeExchange) => { status: number; body: string; headers?: Record<string, string> } | undefined;

/**
 * tus' server, every error answered in our JSON body with tus' headers:
 * ours come from `onResponseError`; tus' own refusals, thrown by its
 * handlers or written before them (412, malformed headers), pass through
 * `write` as plain text and are turned into ours there, at tus' status (a
 * lock's timeout excepted: 503).
 */
class JsonErrorsServer extends Server {
  /** The request being answered: tus writes its answers without it. */
  private readonly answering = new AsyncLocalStorage<NodeExchange>();
  private readonly refusalAnswer: RefusalAnswer;

  constructor(options: ConstructorParameters<typeof Server>[0], refusalAnswer: RefusalAnswer) {
    super(options);
    this.refusalAnswer = refusalAnswer;
  }

  override handle(req: IncomingMessage, res: ServerResponse) {
    return this.answering.run({ req: req as Request, res: res as Response }, () => super.handle(req, res));
  }

  override write(...[context, headers, tusStatus, text]: Parameters<Server['write']>) {
    let [status, body] = [tusStatus, text];
    const exchange = this.answering.getStore();
    if (status >= 400 && exchange && body !== undefined && !body.startsWith('{')) {
      const ours = this.refusalAnswer({ status, body }, exchange);
      if (ours) {
        [status, body] = [ours.status, ours.body];
        for (const [name, value] of Object.entries(ours.headers ?? {})) headers.set(name, value);
      }
    }
    if (status >= 400 && body?.startsWith('{')) headers.set('Content-Type', 'application/json; charset=utf-8');
    return super.write(context, headers, status, body);
  }
}

/**
 * The AWS SDK's logger interface on ours, all at debug: a failed call is
 * logged once, by the request it fails (its answer's log line, with the
 * stack) or by the warning of the code that lets it pass.
 */
function sdkLogger(log: Logger) {
  const at = (...message: unknown[]) => log.debug({ sdk: message.length === 1 ? message[0] : message }, 'aws-sdk');
  return { trace: at, debug: at, info: at, warn: at, error: at };
}

function videoHeaders(videoId: string): Record<string, string> {
  return { [VIDEO_ID_HEADER]: videoId, [VIDEO_URL_HEADER]: `/v1/videos/${videoId}` };
}

function parseTitle(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const parsed = uploadForm.shape.title.safeParse(value);
  if (!parsed.success) throw new PipelineError('invalid_request', `Upload-Metadata title: ${parsed.error.issues[0]!.message}`);
  return parsed.data ?? null;
}
