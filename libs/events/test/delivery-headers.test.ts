import { deliveryHeaders, headerNumber, originalHeaders } from '../src';

describe('delivery headers', () => {
  it('reads numbers, from a buffer, a string or a list, and nothing from what is not one', () => {
    expect(headerNumber({ n: Buffer.from('1712345678901') }, 'n')).toBe(1712345678901);
    expect(headerNumber({ n: '42' }, 'n')).toBe(42);
    expect(headerNumber({ n: [Buffer.from('7'), Buffer.from('8')] }, 'n')).toBe(7);
    expect(headerNumber({ n: 'soon' }, 'n')).toBeUndefined();
    expect(headerNumber({}, 'n')).toBeUndefined();
    expect(headerNumber(undefined, 'n')).toBeUndefined();
  });

  it('keeps the event’s own headers and drops everything the runtime added', () => {
    const own = { ce_id: 'id', ce_type: 'video.uploaded', 'content-type': 'application/json', 'x-trace': 'abc' };
    const added = Object.fromEntries(Object.values(deliveryHeaders).map((name) => [name, 'x']));
    expect(originalHeaders({ ...own, ...added })).toEqual(own);
    expect(originalHeaders(undefined)).toEqual({});
  });
});
