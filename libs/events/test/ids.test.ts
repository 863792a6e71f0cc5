import { createEvent, isUuid, newEventId } from '@video-pipeline/events';
import { sampleVideoUploaded } from '../../../test/support/events';

describe('event ids', () => {
  // First: the later tests move the clock of this process's ids into the future.
  it('are what createEvent gives an event that brings no id of its own', () => {
    const before = Date.now();
    const { id } = createEvent('video.uploaded', { source: '/test', subject: sampleVideoUploaded({ source: '/test' }).subject, data: sampleVideoUploaded({ source: '/test' }).data });
    const millis = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(id[14]).toBe('7');
    expect(millis).toBeGreaterThanOrEqual(before);
    expect(millis).toBeLessThanOrEqual(Date.now());
  });

  it('are UUIDv7s whose first 48 bits are the creation time in ms', () => {
    const now = Date.now() + 1_000; // ahead of any id made before in this process
    const id = newEventId(now);
    expect(isUuid(id)).toBe(true);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });

  it('sort by creation time across milliseconds, so new ids land at the end of an index on them', () => {
    const start = Date.now() + 2_000;
    const ids = Array.from({ length: 200 }, (_, index) => newEventId(start + index));
    expect([...ids].sort()).toEqual(ids);
  });

  it('keep growing within a millisecond, past the counter, and when the clock steps back', () => {
    const millis = Date.now() + 60_000; // later than any id made before in this process
    const ids = [...Array.from({ length: 5_000 }, () => newEventId(millis)), newEventId(millis - 10_000), newEventId(millis + 10_000)];
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every(isUuid)).toBe(true);
  });
});
