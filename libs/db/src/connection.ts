// How the pipeline connects to Postgres. Free of Prisma, so that migrations and
// database administration can use it before the client is generated.
import type pg from 'pg';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * How every connection of the pipeline to Postgres is made, pooled or not
 * (a LISTEN, a migration's lock): it gives up connecting after
 * `connectTimeoutMs` (default 10 s; the URL's `connect_timeout` wins), so a
 * host that hangs fails the caller instead of holding it for TCP's own
 * timeout, and it keeps TCP alive, so a server that vanishes without closing
 * the connection is noticed in minutes rather than hours.
 */
export function connectionOptions(databaseUrl: string, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): pg.ClientConfig {
  return {
    connectionString: databaseUrl,
    connectionTimeoutMillis: connectTimeoutFrom(databaseUrl) ?? connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** The URL's `connect_timeout` in milliseconds, if it gives one (pg itself reads it only for its native driver). */
function connectTimeoutFrom(databaseUrl: string): number | undefined {
  let seconds: number;
  try {
    seconds = Number(new URL(databaseUrl).searchParams.get('connect_timeout') ?? Number.NaN);
  } catch {
    return undefined; // not a URL pg would take either: its own error says so on the first query
  }
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}
