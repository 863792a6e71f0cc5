import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { DependencyCheck } from '@video-pipeline/health';
import type { Logger } from '@video-pipeline/logging';
import type { S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig, UploadsConfig } from '@video-pipeline/config';
import type { ObjectStorage } from '@video-pipeline/storage';
import { authenticator } from './auth';
import { cancelDirectUploadRoute } from './handlers/cancel-direct-upload';
import { completeDirectUploadRoute } from './handlers/complete-direct-upload';
import { createVideoRoute } from './handlers/create-video';
import { decideReviewRoute } from './handlers/decide-review';
import { deleteVideoRoute } from './handlers/delete-video';
import { startDirectUploadRoute } from './handlers/start-direct-upload';
import { getVideoRoute } from './handlers/get-video';
import { listReviewsRoute } from './handlers/list-reviews';
import { playNestedRoute, playRootRoute } from './handlers/play';
import { updateVideoRoute } from './handlers/update-video';
import { videoEventsRoute } from './handlers/video-events';
import { healthzRoute } from './handlers/healthz';
import { listVideosRoute } from './handlers/list-videos';
import { openApiDocumentRoute } from './handlers/openapi-document';
import { readyzRoute } from './handlers/readyz';
import { DEFAULT_DISCARD_LIMITS, expectContinue, type DiscardLimits } from './http/early-answers';
import { answerErrors, noSuchRoute } from './http/errors';
import { openApiDocument } from './http/openapi';
import { requestLog } from './http/request-log';
import { routerFor, type Route } from './http/route';
import { webAppRouter } from './http/web-app';
import { createHttpServer, type HttpServer } from './http/server';
import type { LifecycleApiDeps } from './lifecycle';
import { DirectUploads } from './uploads/direct-uploads';
import type { IdempotencyKeys } from './uploads/idempotency';
import type { PendingUploads } from './uploads/pending-uploads';
import { TUS_PATH, tusEndpoint } from './uploads/tus';
import { tusOperations } from './uploads/tus-document';
import type { PostgresLocker } from './uploads/tus-locker';
import type { VideoRepository } from './video-repository';
import { createWebhookRoute } from './handlers/webhooks/create-webhook';
import { deleteWebhookRoute } from './handlers/webhooks/delete-webhook';
import { getWebhookRoute } from './handlers/webhooks/get-webhook';
import { listWebhookDeliveriesRoute } from './handlers/webhooks/list-webhook-deliveries';
import { listWebhooksRoute } from './handlers/webhooks/list-webhooks';
import { retryWebhookDeliveryRoute } from './handlers/webhooks/retry-webhook-delivery';
import { rotateWebhookSecretRoute } from './handlers/webhooks/rotate-webhook-secret';
import { testWebhookRoute } from './handlers/webhooks/test-webhook';
import { updateWebhookRoute } from './handlers/webhooks/update-webhook';
import type { WebhookRouteDeps } from './webhook-schemas';
import { analyticsSummaryRoute, type AnalyticsRouteDeps } from './handlers/analytics-summary';

export interface UploadApiDeps {
  videos: VideoRepository;
  /** Webhook subscriptions and their deliveries. */
  webhooks: WebhookRouteDeps;
  /** The pipeline's numbers (the analytics group's). */
  analytics: AnalyticsRouteDeps;
  storage: ObjectStorage;
  /** API key -> owner id (`API_KEYS`). */
  apiKeys: ReadonlyMap<string, string>;
  /** Admin API key -> the admin's name (`ADMIN_API_KEYS`); none by default. */
  adminApiKeys?: ReadonlyMap<string, string>;
  maxUploadBytes: number;
  /** Resumable and direct uploads, quotas; `tusLocker` is closed with the API. */
  uploads: { pending: PendingUploads; idempotency: IdempotencyKeys; config: UploadsConfig; storageConfig: StorageConfig; tusLocker: PostgresLocker };
  /** Signs direct uploads' part URLs for the S3 endpoint clients reach (S3_PUBLIC_ENDPOINT). */
  presigner: S3Client;
  logger: Logger;
  /** Checked by /readyz, e.g. { database, storage, kafka }. */
  readinessChecks: Record<string, DependencyCheck>;
  /** Browser origins allowed to call across origins (`*`: any); none by default. */
  corsOrigins?: readonly string[];
  /** How much of a refused request's body is read so its client gets the answer. */
  discardLimits?: DiscardLimits;
  /** The built web app (`services/web/dist`), served at `/`; none by default. */
  webAppDir?: string;
  /** Playback, event streams, edits, deletion and reviews (see `lifecycleApiDeps`). */
  lifecycle: LifecycleApiDeps;
}

export interface UploadApi extends HttpServer {
  app: Express;
  /** Every route the API serves; the OpenAPI document lists exactly these. */
  routes: readonly Route[];
}

const API_INFO = {
  title: 'Video pipeline upload API',
  version: '1',
  description: 'Upload videos and read them back. Every error is `{ error: { code, message, details? }, requestId }`; match on `code`.',
};

/** Builds the HTTP API and its server; `main.ts` only wires dependencies and listens. */
export function buildUploadApi(deps: UploadApiDeps): UploadApi {
  const authenticate = authenticator({ owners: deps.apiKeys, admins: deps.adminApiKeys ?? new Map() });
  const direct = new DirectUploads({
    videos: deps.videos,
    pending: deps.uploads.pending,
    storage: deps.storage,
    presigner: deps.presigner,
    presignedUrlSeconds: deps.uploads.config.presignedUrlSeconds,
    maxUploadBytes: deps.maxUploadBytes,
    quotas: deps.uploads.config.quotas,
    locker: deps.uploads.tusLocker,
  });
  // A router per area; each route is one handler file, declared once for both its router and the document.
  const areas: Record<string, Route[]> = {
    videos: [createVideoRoute({ ...deps, quotas: deps.uploads.config.quotas, pending: deps.uploads.pending, idempotency: deps.uploads.idempotency }), listVideosRoute(deps.videos, deps.lifecycle.tokens), getVideoRoute(deps.videos, deps.lifecycle.tokens)],
    lifecycle: [
      updateVideoRoute({ videos: deps.videos, ...deps.lifecycle }),
      deleteVideoRoute(deps.lifecycle.store),
      videoEventsRoute({ videos: deps.videos, ...deps.lifecycle }),
      playRootRoute({ ...deps.lifecycle, storage: deps.storage }),
      playNestedRoute({ ...deps.lifecycle, storage: deps.storage }),
      listReviewsRoute(deps.lifecycle.store, deps.lifecycle.tokens),
      decideReviewRoute(deps.lifecycle.store),
    ],
    webhooks: [
      createWebhookRoute(deps.webhooks),
      listWebhooksRoute(deps.webhooks),
      getWebhookRoute(deps.webhooks),
      updateWebhookRoute(deps.webhooks),
      deleteWebhookRoute(deps.webhooks),
      rotateWebhookSecretRoute(deps.webhooks),
      testWebhookRoute(deps.webhooks),
      listWebhookDeliveriesRoute(deps.webhooks),
      retryWebhookDeliveryRoute(deps.webhooks),
    ],
    uploads: [startDirectUploadRoute(direct), completeDirectUploadRoute(direct, deps.uploads.idempotency), cancelDirectUploadRoute(direct)],
    analytics: [analyticsSummaryRoute(deps.analytics)],
    operations: [healthzRoute(), readyzRoute(deps.readinessChecks), openApiDocumentRoute(() => document)],
  };
  const routes = Object.values(areas).flat();
  const tus = tusEndpoint({
    videos: deps.videos,
    pending: deps.uploads.pending,
    storage: deps.storage,
    storageConfig: deps.uploads.storageConfig,
    maxUploadBytes: deps.maxUploadBytes,
    quotas: deps.uploads.config.quotas,
    expiryMs: deps.uploads.config.expiryMs,
    corsOrigins: deps.corsOrigins,
    authenticate: authenticate('owner'),
    locker: deps.uploads.tusLocker,
    logger: deps.logger,
  });
  const document = openApiDocument(routes, API_INFO, tusOperations) as unknown as Record<string, unknown>;

  const app = express();
  const http = createHttpServer(app);
  app.set('etag', false);
  app.use(requestLog(deps.logger));
  app.use(http.closingConnections);
  app.use(expectContinue);
  app.use(
    helmet({
      // The web app plays HLS through Media Source Extensions: media and hls.js's worker come from blob: URLs.
      contentSecurityPolicy: { directives: { 'media-src': ["'self'", 'blob:'], 'worker-src': ["'self'", 'blob:'], 'img-src': ["'self'", 'data:', 'blob:'] } },
    }),
  );
  const corsFor = (exposedHeaders: string[]) => cors({ origin: deps.corsOrigins!.includes('*') ? '*' : [...deps.corsOrigins!], exposedHeaders, maxAge: 600 });
  const apiCors = deps.corsOrigins?.length ? corsFor(['Location', 'X-Request-Id', 'Retry-After']) : undefined;
  // tus answers its own CORS and its own preflight (its OPTIONS announces the protocol too), so it comes before the
  // API's. Its other requests get CORS headers first: a refusal our middleware gives there (401, 404, a finished
  // upload, the protocol version) is answered by answerErrors, past tus, and a page on another origin must still read it.
  const tusRefusalCors = deps.corsOrigins?.length ? corsFor(['Location', 'X-Request-Id', 'Retry-After', 'Tus-Resumable', 'Tus-Version']) : undefined;
  if (tusRefusalCors) app.use(TUS_PATH, (request, response, next) => (request.method === 'OPTIONS' ? next() : tusRefusalCors(request, response, next)));
  app.use(TUS_PATH, tus.handler);
  if (apiCors) app.use(apiCors);
  for (const area of Object.values(areas)) app.use(routerFor(area, authenticate));
  if (deps.webAppDir) app.use(webAppRouter(deps.webAppDir));
  app.use(noSuchRoute);
  app.use(answerErrors(deps.discardLimits ?? DEFAULT_DISCARD_LIMITS));

  // Event streams never end by themselves: the feed ends them, then the server can close.
  // The tus locks go last: uploads in flight hold theirs until they finish.
  const close = async () => {
    await deps.lifecycle.feed.stop();
    await http.close();
    await deps.uploads.tusLocker.close();
  };
  return { ...http, close, app, routes };
}
