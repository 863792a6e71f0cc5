// The driver adapter the schema engine talks to Postgres through: @prisma/adapter-pg, with
// fixes for what the engine needs and PrismaPg gets wrong in this version (7.10).
import type { EventEmitter } from 'node:events';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import { DatabaseError, Pool } from 'pg';

// Postgres type OIDs. "char" is the internal one-byte type of catalog columns such as
// pg_class.relkind, which the engine reads when it describes a schema.
const CHAR_OID = 18;
const TEXT_OID = 25;

/**
 * PrismaPg rejects result columns of type "char" ("Column type 'char' could not be
 * deserialized"), so describing a database (diff) fails. The values are plain strings, so
 * report such columns as text: rewrite the row description before pg's own handler reads it.
 * Only the engine's private pools get this.
 */
export function createEnginePool(connectionString: string): Pool {
  const pool = new Pool({ connectionString, max: 2 });
  pool.on('connect', (client) => {
    // `connection` (pg's protocol stream) is not in @types/pg.
    const { connection } = client as unknown as { connection: EventEmitter };
    connection.prependListener('rowDescription', (message: { fields: { dataTypeID: number }[] }) => {
      for (const field of message.fields) {
        if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
      }
    });
  });
  return pool;
}

/**
 * PrismaPg's own connectToShadowDb creates a database from its config, but with a
 * connectionString config pg lets the URL's database win over the shadow one, so the
 * "shadow" would be the real database. We hand the engine a shadow pool we created instead.
 */
export function pgAdapterFactory(pool: Pool, shadowPool: Pool | undefined): SqlMigrationAwareDriverAdapterFactory {
  const main = new PrismaPg(pool);
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    connect: () => connectRunningWholeScripts(main),
    connectToShadowDb: () => {
      if (!shadowPool) {
        return Promise.reject(new Error('This operation needs a shadow database, and none was provided'));
      }
      return connectRunningWholeScripts(new PrismaPg(shadowPool));
    },
  };
}

/**
 * PrismaPg's executeScript splits a migration on every ";", which breaks $$-quoted function
 * bodies and string literals, and runs the pieces one by one, so a failing migration is left
 * half-applied. Send the script as one simple query instead, like the native engine does:
 * Postgres then runs it as one implicit transaction (all or nothing).
 */
async function connectRunningWholeScripts(factory: PrismaPg): Promise<SqlDriverAdapter> {
  const adapter = await factory.connect();
  const pool = adapter.underlyingDriver();
  adapter.executeScript = async (script: string): Promise<void> => {
    try {
      await pool.query(script);
    } catch (error) {
      throw error instanceof DatabaseError ? toDriverAdapterError(error) : error;
    }
  };
  return adapter;
}

/** The engine formats `postgres`-kind errors as "ERROR: <message>" plus detail and hint. */
function toDriverAdapterError(error: DatabaseError): DriverAdapterError {
  return new DriverAdapterError({
    kind: 'postgres',
    code: error.code ?? 'N/A',
    severity: error.severity ?? 'N/A',
    message: error.message,
    detail: error.detail,
    column: error.column,
    hint: error.hint,
  });
}
