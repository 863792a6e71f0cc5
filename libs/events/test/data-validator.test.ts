import { z } from 'zod';
import { eventCatalog, eventTypes } from '@video-pipeline/events';
import { compilable, dataValidator } from '../src/data-validator';
import { sampleVideoUploaded } from '../../../test/support/events';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values every field is tried with: wrong types, edges of strings and numbers, near-misses of the formats in use. */
const replacements: Array<Json | undefined> = [
  undefined, null, true, 0, -1, 1, 1.5, 2 ** 53, -(2 ** 53), '', ' ', 'x', 'x'.repeat(10_000), '😀', 'ＡＢ', [], {}, { nested: 1 },
  '6F9619FF-8B86-4D01-B42D-00CF4FC964FF', '6f9619ff-8b86-0d01-b42d-00cf4fc964ff', '00000000-0000-0000-0000-000000000000', '6f9619ff8b864d01b42d00cf4fc964ff',
  '2026-11-28T10:00:00Z', '2026-11-28T10:00:00.123+01:00', '2026-11-28T10:00:00', '2026-02-30T10:00:00Z', '2026-11-28t10:00:00z', '2026-11-28T24:00:00Z',
  'a'.repeat(64), 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(64) + '\n',
];

/** Every path into `value`, objects included. */
function paths(value: Json, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([key, child]) => paths(child, [...prefix, key]))];
}

function withValueAt(value: Json, path: string[], replacement: Json | undefined): Json | undefined {
  if (path.length === 0) return replacement;
  const copy = { ...(value as Record<string, Json>) };
  const [key, ...rest] = path as [string, ...string[]];
  const child = withValueAt(copy[key] ?? {}, rest, replacement);
  if (child === undefined) delete copy[key];
  else copy[key] = child;
  return copy;
}

describe('dataValidator', () => {
  it.each(eventTypes)('compiles the schema of %s', (type) => {
    expect(compilable(eventCatalog[type].schema)).toBe(true);
    expect(() => dataValidator(eventCatalog[type].schema)).not.toThrow();
  });

  it('gives the verdict and the data zod gives, for valid data and for hundreds of broken variants of it', () => {
    const schema = eventCatalog['video.uploaded'].schema;
    const validate = dataValidator(schema);
    const valid = sampleVideoUploaded().data as unknown as Json;
    const variants = [valid, ...paths(valid).flatMap((path) => [...replacements, { unknown: 'key' }].map((replacement) => withValueAt(valid, path, replacement)))];
    variants.push(withValueAt(valid, ['unknownKey'], 'dropped'), withValueAt(valid, ['object', 'unknownKey'], { deep: true }));

    let accepted = 0;
    for (const variant of variants) {
      const expected = schema.safeParse(structuredClone(variant));
      const actual = validate(structuredClone(variant));
      expect({ variant, success: actual.success }).toEqual({ variant, success: expected.success });
      if (actual.success && expected.success) {
        expect(actual.data).toEqual(expected.data);
        accepted += 1;
      }
    }
    expect(variants.length).toBeGreaterThan(300);
    expect(accepted).toBeGreaterThan(10); // the corpus holds valid variants too, not only broken ones
  });

  it("reports zod's problems for data it refuses", () => {
    const validate = dataValidator(eventCatalog['video.uploaded'].schema);
    const data = { ...sampleVideoUploaded().data, videoId: 'not-a-uuid' };
    expect(validate(data)).toEqual({ success: false, problems: [expect.stringMatching(/^videoId: /)] });
  });

  it('drops unknown keys, as zod does', () => {
    const validate = dataValidator(z.object({ kept: z.string(), inner: z.object({ kept: z.number() }) }));
    expect(validate({ kept: 'a', extra: 1, inner: { kept: 1, extra: 2 } })).toEqual({ success: true, data: { kept: 'a', inner: { kept: 1 } } });
  });

  it.each([
    ['a transform', z.object({ n: z.string().transform((value) => value.length) }), { n: 'abc' }, { n: 3 }],
    ['a default', z.object({ n: z.number().default(7) }), {}, { n: 7 }],
    ['coercion', z.object({ n: z.coerce.number() }), { n: '5' }, { n: 5 }],
    ['a refinement', z.object({ n: z.number().refine((value) => value % 2 === 0) }), { n: 3 }, undefined],
    ['a strict object', z.strictObject({ n: z.number() }), { n: 1, extra: true }, undefined],
    ['a loose object', z.looseObject({ n: z.number() }), { n: 1, extra: true }, { n: 1, extra: true }],
    ['a format zod checks in code', z.object({ url: z.url() }), { url: 'not a url' }, undefined],
    ['a sticky regex', z.object({ s: z.string().regex(/abc/y) }), { s: 'xabc' }, undefined],
    ['a literal JSON cannot hold', z.object({ n: z.literal(1n).optional() }), {}, {}],
  ])('leaves a schema with %s to zod', (_name, schema, input, output) => {
    expect(compilable(schema)).toBe(false);
    const verdict = dataValidator(schema as z.ZodType)(input);
    expect(verdict).toEqual(output === undefined ? { success: false, problems: expect.any(Array) } : { success: true, data: output });
  });

  it('compiles regexes whose flags only make the compiled check stricter, and zod still has the last word', () => {
    const schema = z.object({ code: z.string().regex(/^ab$/i) });
    expect(compilable(schema)).toBe(true);
    expect(dataValidator(schema)({ code: 'AB' })).toEqual({ success: true, data: { code: 'AB' } });
    expect(dataValidator(schema)({ code: 'ABC' })).toMatchObject({ success: false });
  });

  it('counts string lengths in code points, as zod does', () => {
    const schema = z.object({ name: z.string().min(2).max(3) });
    expect(compilable(schema)).toBe(true);
    for (const name of ['😀', '😀😀', '😀😀😀', '😀😀😀😀', 'ab', 'abcd']) {
      expect({ name, success: dataValidator(schema)({ name }).success }).toEqual({ name, success: schema.safeParse({ name }).success });
    }
    expect(dataValidator(schema)({ name: '😀😀' })).toEqual({ success: true, data: { name: '😀😀' } }); // 4 UTF-16 units, 2 code points
  });
});
