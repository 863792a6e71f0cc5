import type pg from 'pg';

type Query = (...args: unknown[]) => unknown;

/**
 * Makes a pooled connection run its promise-style queries one after the
 * other: each waits until the one before it has settled, then goes to pg.
 *
 * Prisma's query interpreter sends the parts of one query (an `include`'s
 * relations, say) at once; inside an interactive transaction they all go to
 * the transaction's one connection, and pg 8.19+ warns on every process
 * ("Calling client.query() when the client is already executing a query is
 * deprecated and will be removed in pg@9.0"). pg queued them itself until
 * now, in the same order, so this changes no result; it keeps pg@9 from
 * breaking it. Calls with a callback or a submittable (cursors, streams) go
 * to pg unchanged.
 */
export function serializeQueries(client: pg.PoolClient): void {
  const query = client.query.bind(client) as Query;
  let previous: Promise<unknown> = Promise.resolve();
  const serialized: Query = (...args) => {
    const config = args[0] as { submit?: unknown } | null | undefined;
    if (typeof args.at(-1) === 'function' || typeof config?.submit === 'function') return query(...args);
    const result = previous.then(() => query(...args));
    previous = result.catch(() => undefined);
    return result;
  };
  (client as unknown as { query: Query }).query = serialized;
}
