// Opens Prisma's schema engine (migrations, diff) without the native `schema-engine`
// binary: the wasm build, on pools of its own.
import type { SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg' with { 'resolution-mode': 'import' };
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { createEnginePool, pgAdapterFactory } from './schema-engine-adapter';
import { loadSchemaEngineGlue } from './schema-engine-wasm';

export type { SchemaEngine };

export interface SchemaFile {
  path: string;
  content: string;
}

export interface OpenSchemaEngineOptions {
  /** The database the engine works on (migrations are applied here). */
  databaseUrl: string;
  /** An empty scratch database; needed only to replay migrations (diff from migrations). */
  shadowDatabaseUrl?: string;
  /** Schema files the engine is created with; not needed to apply migrations. */
  schemaFiles?: SchemaFile[];
  log?: (message: string) => void;
}

export interface SchemaEngineSession {
  engine: SchemaEngine;
  /** Frees the engine and ends its connection pools. */
  close(): Promise<void>;
}

export async function openSchemaEngine(options: OpenSchemaEngineOptions): Promise<SchemaEngineSession> {
  const glue = await loadSchemaEngineGlue();
  const pool = createEnginePool(options.databaseUrl);
  const shadowPool = options.shadowDatabaseUrl === undefined ? undefined : createEnginePool(options.shadowDatabaseUrl);
  const endPools = () => Promise.all([pool.end(), shadowPool?.end()]).then(() => undefined);
  try {
    const datamodels = options.schemaFiles?.map((file): [string, string] => [file.path, file.content]);
    const adapterFactory = bindMigrationAwareSqlAdapterFactory(pgAdapterFactory(pool, shadowPool));
    const engine = await glue.SchemaEngine.new({ datamodels }, engineLogCallback(options.log), adapterFactory);
    return {
      engine,
      close: async () => {
        engine.free();
        await endPools();
      },
    };
  } catch (error) {
    await endPools();
    throw error;
  }
}

function engineLogCallback(log: ((message: string) => void) | undefined): (line: string) => void {
  return (line: string) => log?.(formatEngineLog(line));
}

/** The engine logs JSON lines ({"level","fields":{"message"}}); keep level and message. */
function formatEngineLog(line: string): string {
  const parsed: unknown = parseJsonOrUndefined(line);
  if (typeof parsed === 'object' && parsed !== null && 'fields' in parsed && 'level' in parsed) {
    const { fields, level } = parsed as { fields: { message?: unknown }; level: unknown };
    if (typeof fields.message === 'string') return `schema-engine ${String(level)}: ${fields.message}`;
  }
  return `schema-engine: ${line}`;
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not JSON: the caller logs the raw line
  }
}
