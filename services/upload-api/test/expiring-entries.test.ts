import { ExpiringEntries } from '../src/uploads/expiring-entries';

const HOUR = 60 * 60 * 1000;

describe('ExpiringEntries: notes on uploads, kept no longer than an upload lives', () => {
  let now = 0;
  const clock = { now: () => now };
  beforeEach(() => {
    now = Date.UTC(2026, 11, 7);
  });

  it('keeps an entry until its lifetime has passed, then drops it though nothing deleted it', () => {
    const entries = new ExpiringEntries<string>(24 * HOUR, clock);
    entries.set('a', 'first');
    now += 24 * HOUR - 1;
    expect(entries.get('a')).toBe('first');
    now += 1;
    expect(entries.get('a')).toBeUndefined();
    expect(entries.size).toBe(0);
  });

  it('drops each entry at its own time, in the order they were set', () => {
    const entries = new ExpiringEntries<number>(10 * HOUR, clock);
    entries.set('a', 1);
    now += 4 * HOUR;
    entries.set('b', 2);
    now += 4 * HOUR;
    entries.set('c', 3);
    now += 2 * HOUR;
    expect([entries.get('a'), entries.get('b'), entries.get('c'), entries.size]).toEqual([undefined, 2, 3, 2]);
    now += 4 * HOUR;
    expect([entries.get('b'), entries.get('c'), entries.size]).toEqual([undefined, 3, 1]);
    now += 4 * HOUR;
    expect(entries.size).toBe(0);
  });

  it('a key set again starts its lifetime over, and does not hold back the expiry of others', () => {
    const entries = new ExpiringEntries<string>(10 * HOUR, clock);
    entries.set('a', 'old');
    entries.set('b', 'b');
    now += 6 * HOUR;
    entries.set('a', 'new');
    now += 6 * HOUR;
    expect([entries.get('a'), entries.get('b'), entries.size]).toEqual(['new', undefined, 1]);
    now += 4 * HOUR;
    expect(entries.get('a')).toBeUndefined();
  });

  it('deletes on request, and bounds many abandoned entries to those of the last lifetime', () => {
    const entries = new ExpiringEntries<number>(HOUR, clock);
    entries.set('gone', 0);
    entries.delete('gone');
    expect(entries.get('gone')).toBeUndefined();
    // One upload a minute for a day, none ever finished here: at most an hour's worth is kept.
    for (let minute = 0; minute < 24 * 60; minute += 1) {
      entries.set(`upload-${minute}`, minute);
      now += 60 * 1000;
    }
    expect(entries.size).toBeLessThanOrEqual(60);
    expect(entries.get(`upload-${24 * 60 - 1}`)).toBe(24 * 60 - 1);
  });
});
