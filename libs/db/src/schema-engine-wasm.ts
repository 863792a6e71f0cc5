// Loads the JS glue of @prisma/schema-engine-wasm (Prisma's schema engine compiled to
// wasm) and instantiates its .wasm, once per process.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export type SchemaEngineGlue = typeof import('@prisma/schema-engine-wasm/schema_engine_bg', {
  with: { 'resolution-mode': 'import' },
});

// The WebAssembly global, typed just as far as used here (tsconfig's lib has no DOM types).
type WasmImports = Record<string, unknown>;
interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, WasmImports>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const GLUE_SPECIFIER = '@prisma/schema-engine-wasm/schema_engine_bg';

let gluePromise: Promise<SchemaEngineGlue> | undefined;

/**
 * The package entry (`schema_engine.js`) imports the .wasm file as an ES module, which
 * Node 24 could load itself, but then the wasm module's imports are the glue's own
 * functions, setTimeout among them (see wasmImportsFrom). So import only the JS glue,
 * instantiate the .wasm ourselves with the glue as its import object, and hand the
 * instance back to the glue. Done once per process.
 */
export function loadSchemaEngineGlue(): Promise<SchemaEngineGlue> {
  gluePromise ??= instantiateSchemaEngineGlue().catch((error: unknown) => {
    gluePromise = undefined; // let a later call retry instead of caching the failure
    throw error;
  });
  return gluePromise;
}

async function instantiateSchemaEngineGlue(): Promise<SchemaEngineGlue> {
  // A real import() under tsx; transpilers that emit CommonJS turn it into require(),
  // which Node accepts for ES modules (require(esm)), but jest's sandbox does not
  // without --experimental-vm-modules.
  const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const wasmPath = path.join(path.dirname(require.resolve(GLUE_SPECIFIER)), 'schema_engine_bg.wasm');
  const { instance } = await wasmApi.instantiate(await readFile(wasmPath), {
    './schema_engine_bg.js': wasmImportsFrom(glue),
  });
  glue.__wbg_set_wasm(instance.exports);
  const start = instance.exports['__wbindgen_start'];
  if (typeof start === 'function') start();
  return glue;
}

/**
 * The glue's exports are the wasm module's imports, except for setTimeout: the engine races
 * its advisory-lock query against a 10 s timer it never clears, which would keep the process
 * alive for 10 s after every migration. Unref'd timers still fire, just don't hold the process.
 */
function wasmImportsFrom(glue: SchemaEngineGlue): WasmImports {
  const imports: WasmImports = { ...glue };
  for (const name of Object.keys(imports).filter((key) => key.startsWith('__wbg_setTimeout_'))) {
    imports[name] = (callback: () => void, delayMs: number) => setTimeout(callback, delayMs >>> 0).unref();
  }
  return imports;
}
