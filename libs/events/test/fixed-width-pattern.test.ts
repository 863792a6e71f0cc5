import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { eventCatalog, eventTypes } from '@video-pipeline/events';
import { compilePattern } from '../src/fixed-width-pattern';

/** Every pattern in the event schemas' JSON Schema. */
function schemaPatterns(): string[] {
  const found: string[] = [];
  const visit = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const { pattern } = node as { pattern?: unknown };
    if (typeof pattern === 'string') found.push(pattern);
    Object.values(node).forEach(visit);
  };
  for (const type of eventTypes) visit(z.toJSONSchema(eventCatalog[type].schema, { io: 'output', unrepresentable: 'throw' }));
  return found;
}

/** Characters every position is tried with: all of ASCII, and a few beyond it (a surrogate pair's halves among them). */
const substitutes = [...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)), '\u0080', 'é', 'Ａ', '０', '\u{1F600}'[0]!, '\u{1F600}'[1]!, '\u2028'];

/** Near misses of each sample: each position replaced by every substitute, removed or doubled, and the whole with something before or after it. */
function nearMisses(sample: string): string[] {
  const variants = ['', sample.toUpperCase(), sample.toLowerCase(), `${sample}\n`, `\n${sample}`, `${sample}${sample}`, sample.slice(1), sample.slice(0, -1)];
  for (let index = 0; index < sample.length; index++) {
    for (const substitute of substitutes) variants.push(sample.slice(0, index) + substitute + sample.slice(index + 1));
    variants.push(sample.slice(0, index) + sample.slice(index + 1), sample.slice(0, index) + sample[index]! + sample.slice(index));
  }
  return variants;
}

const uuid = () => randomUUID();
const fixedWidth: Array<{ pattern: string; samples: () => string[] }> = [
  { pattern: '^[0-9a-f]{64}$', samples: () => [randomBytes(32).toString('hex'), '0'.repeat(64), 'f'.repeat(64)] },
  {
    pattern: '^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$',
    samples: () => [uuid(), uuid().toUpperCase(), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '0190d0c4-7a1b-7c2d-9e3f-0123456789ab'],
  },
  { pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', samples: () => [uuid(), uuid().toUpperCase()] },
  { pattern: '^(?:ab|c-9|Z)$', samples: () => ['ab', 'c-9', 'Z'] },
  { pattern: '^x[a-c]{2}-$', samples: () => ['xab-', 'xcc-'] },
];

describe('compilePattern', () => {
  it.each(fixedWidth)('tests $pattern as RegExp does, on its samples and thousands of near misses', ({ pattern, samples }) => {
    const compiled = compilePattern(pattern);
    const regExp = new RegExp(pattern);
    expect(compiled).not.toBeInstanceOf(RegExp);
    for (let round = 0; round < 5; round++) {
      for (const sample of samples()) {
        expect(compiled.test(sample)).toBe(true);
        for (const variant of nearMisses(sample)) {
          if (compiled.test(variant) !== regExp.test(variant)) throw new Error(`${pattern} disagrees with RegExp on ${JSON.stringify(variant)}`);
        }
      }
    }
  });

  it('compiles the fixed-width patterns of the event schemas, and the rest as RegExps', () => {
    const patterns = schemaPatterns();
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) {
      const fixed = fixedWidth.some((entry) => entry.pattern === pattern);
      expect({ pattern, regExp: compilePattern(pattern) instanceof RegExp }).toEqual({ pattern, regExp: !fixed });
    }
  });

  it.each([
    ['alternatives without a group, which are not anchored at both ends', '^a|b$', ''],
    ['a negated class', '^[^a]{2}$', ''],
    ['an escape', '^\\d{3}$', ''],
    ['a quantifier of varying count', '^a{2,3}$', ''],
    ['a plus', '^a+$', ''],
    ['a dot', '^a.b$', ''],
    ['no start anchor', 'a{3}$', ''],
    ['no end anchor', '^a{3}', ''],
    ['a hyphen at the edge of a class', '^[a-]$', ''],
    ['a range across kinds', '^[A-z]$', ''],
    ['two groups', '^(a)(b)$', ''],
    ['nested groups', '^((a|b)|c)$', ''],
    ['an empty alternative', '^(a|)$', ''],
    ['a flag', '^[a-f]{2}$', 'i'],
  ])('leaves %s to RegExp', (_, pattern, flags) => {
    const compiled = compilePattern(pattern, flags);
    expect(compiled).toBeInstanceOf(RegExp);
    expect((compiled as RegExp).source).toBe(new RegExp(pattern, flags).source);
    expect((compiled as RegExp).flags).toBe(flags);
  });
});
