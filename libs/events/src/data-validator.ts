import Ajv2020 from 'ajv/dist/2020';
import { z } from 'zod';
import { fixedWidthRegExpEngine } from './fixed-width-pattern';

export type DataVerdict<T> = { success: true; data: T } | { success: false; problems: string[] };

/**
 * Checks event data against its schema; the result is what zod's `safeParse`
 * would give. It may drop unknown keys from `data` itself, so pass data of
 * your own (freshly parsed JSON), not data someone else still reads.
 */
export type DataValidator<T> = (data: unknown) => DataVerdict<T>;

/**
 * A validator for event data that consumers run on every record. The zod
 * schema stays the one definition and the judge of what is wrong; what runs
 * first is ajv's compiled check of the schema's JSON Schema, which tests the
 * parsed JSON in place, where zod builds a copy of it: zod cost about a
 * quarter of a consumer's throughput (bench/consumer-throughput.ts).
 *
 * The compiled check is used only for schemas whose JSON Schema says all that
 * zod checks (see `compilable`); data it refuses goes to zod, for the verdict
 * and its message. So it can make validation faster, never laxer.
 */
export function dataValidator<S extends z.ZodType>(schema: S): DataValidator<z.output<S>> {
  const byZod: DataValidator<z.output<S>> = (data) => {
    const parsed = schema.safeParse(data);
    return parsed.success ? { success: true, data: parsed.data } : { success: false, problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`) };
  };
  if (!compilable(schema)) return byZod;

  const check = ajv().compile(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'throw' }));
  return (data) => (check(data) ? { success: true, data: data as z.output<S> } : byZod(data));
}

let shared: Ajv2020 | undefined;

function ajv(): Ajv2020 {
  shared ??= new Ajv2020({
    // zod's own regexes are in the JSON Schema as patterns; formats add nothing to them.
    validateFormats: false,
    // Run patterns as zod does, without the u flag.
    unicodeRegExp: false,
    // Unknown keys are dropped, as zod's (default, stripping) objects drop them.
    removeAdditional: true,
    // The digests and UUIDs every event carries are checked by table, not by RegExp (see compilePattern).
    code: { regExp: fixedWidthRegExpEngine },
  });
  return shared;
}

/** Checks of strings and numbers that the JSON Schema states exactly. */
const compilableChecks = new Set(['min_length', 'max_length', 'length_equals', 'greater_than', 'less_than', 'number_format', 'string_format']);

/** String formats that zod checks with a regex alone, which the JSON Schema carries as its pattern. */
const compilableFormats = new Set(['regex', 'uuid', 'guid', 'datetime', 'date', 'time']);

/**
 * Whether zod only checks, never changes, what this schema accepts, and its
 * JSON Schema says every check: plain objects (unknown keys stripped),
 * strings, numbers, booleans, literals, enums, arrays, nullable and optional
 * values, with length, bound and regex checks (zod and JSON Schema both
 * count a string's length in code points). Anything else (transforms,
 * defaults, coercion, refinements, strict or loose objects, formats zod
 * checks in code) keeps zod alone.
 */
export function compilable(schema: z.core.$ZodType): boolean {
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  const checks = (def.checks ?? []) as z.core.$ZodCheck[];
  const checksOk = checks.every((check) => {
    const checkDef = check._zod.def as { check: string; format?: string; pattern?: RegExp };
    if (!compilableChecks.has(checkDef.check)) return false;
    return checkDef.check !== 'string_format' || (compilableFormats.has(checkDef.format ?? '') && stricterWithoutFlags(checkDef.pattern));
  });
  if (!checksOk || def.coerce) return false;

  switch (def.type) {
    case 'string':
      return def.format === undefined || (compilableFormats.has(def.format as string) && stricterWithoutFlags(def.pattern as RegExp | undefined));
    case 'number':
    case 'boolean':
    case 'null':
    case 'enum':
      return true;
    case 'literal':
      return (def.values as unknown[]).every((value) => value === null || ['string', 'number', 'boolean'].includes(typeof value));
    case 'nullable':
    case 'optional':
      return compilable(def.innerType as z.core.$ZodType);
    case 'array':
      return compilable(def.element as z.core.$ZodType);
    case 'object':
      return def.catchall === undefined && Object.values(def.shape as Record<string, z.core.$ZodType>).every(compilable);
    default:
      return false;
  }
}

/**
 * JSON Schema patterns have no flags, so the compiled check runs a regex
 * without them. Without i, m or s a regex matches less, which is safe (zod
 * then decides); without g, y, u or v it may match more, which is not.
 */
function stricterWithoutFlags(pattern: RegExp | undefined): boolean {
  return pattern === undefined || /^[ims]*$/.test(pattern.flags);
}
