import { deliveryHeaders, headerNumber, headerString, originalHeaders } from '../src';

describe('delivery headers', () => {
  it('reads a header as text whether it arrives as a buffer, a string or a list', () => {
    const headers = { a: Buffer.from('from-buffer'), b: 'plain', c: [Buffer.from('first'), Buffer.from('second')], d: undefined };
    expect(['a', 'b', 'c', 'd', 'missing'].map((name) => headerString(headers, name))).toEqual(['from-buffer', 'plain', 'first', undefined, undefined]);
    expect(headerString(undefined, 'a')).toBeUndefined();
  });

  it('reads numbers, and nothing from what is not one', () => {
    expect(headerNumber({ n: Buffer.from('1712345678901') }, 'n')).toBe(1712345678901);
    expect(headerNumber({ n: 'soon' }, 'n')).toBeUndefined();
    expect(headerNumber({}, 'n')).toBeUndefined();
  });

  it('keeps the event’s own headers and drops everything the runtime added', () => {
    const own = { ce_id: 'id', ce_type: 'video.uploaded', 'content-type': 'application/json', 'x-trace': 'abc' };
    const added = Object.fromEntries(Object.values(deliveryHeaders).map((name) => [name, 'x']));
    expect(originalHeaders({ ...own, ...added })).toEqual(own);
    expect(originalHeaders(undefined)).toEqual({});
  });
});
