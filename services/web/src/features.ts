/**
 * What this API offers, read from its OpenAPI document (the running code's
 * own contract): the app shows a calm "not available yet" for what is missing
 * rather than calling routes that answer 404.
 */
export interface Features {
  /** `GET /v1/videos?status=` filters the list. */
  statusFilter: boolean;
  rename: boolean;
  remove: boolean;
  /** `GET /v1/videos/{id}/events`: live status over Server-Sent Events. */
  liveEvents: boolean;
  /** tus resumable uploads at `/v1/uploads`. */
  tus: boolean;
  reviews: boolean;
  webhooks: boolean;
  analytics: boolean;
}

export const NO_FEATURES: Features = {
  statusFilter: false,
  rename: false,
  remove: false,
  liveEvents: false,
  tus: false,
  reviews: false,
  webhooks: false,
  analytics: false,
};

interface OpenApiDocument {
  paths?: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
}

export function featuresOf(document: OpenApiDocument, tusAnnounced: boolean): Features {
  const paths = document.paths ?? {};
  const has = (path: string, method: string) => Boolean(paths[path]?.[method]);
  const anyPath = (prefix: string) => Object.keys(paths).some((path) => path.startsWith(prefix));
  return {
    statusFilter: Boolean(paths['/v1/videos']?.get?.parameters?.some((parameter) => parameter.in === 'query' && parameter.name === 'status')),
    rename: has('/v1/videos/{id}', 'patch'),
    remove: has('/v1/videos/{id}', 'delete'),
    liveEvents: has('/v1/videos/{id}/events', 'get'),
    tus: tusAnnounced || anyPath('/v1/uploads'),
    reviews: anyPath('/v1/reviews') || Object.keys(paths).some((path) => path.includes('review')),
    webhooks: anyPath('/v1/webhooks'),
    analytics: has('/v1/analytics/summary', 'get'),
  };
}

/** How long the app waits to hear what the API offers; files picked meanwhile wait for it, so it must not be for ever. */
const DETECTION_TIMEOUT_MS = 10_000;

/** Reads the document, and asks the tus endpoint (which may live outside the document) whether it is there. */
export async function detectFeatures(fetcher: typeof fetch = (input, init) => fetch(input, init), timeoutMs = DETECTION_TIMEOUT_MS): Promise<Features> {
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    const [document, tus] = await Promise.all([
      fetcher('/openapi.json', { signal }).then((response) => (response.ok ? (response.json() as Promise<OpenApiDocument>) : {})),
      fetcher('/v1/uploads', { method: 'OPTIONS', signal }).then(
        (response) => response.headers.has('Tus-Version'),
        () => false,
      ),
    ]);
    return featuresOf(document, tus);
  } catch {
    return NO_FEATURES;
  }
}
