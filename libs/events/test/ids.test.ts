import { createEvent, isUuid, newEventId } from '@video-pipeline/events';
import { sampleVideoUploaded } from '../../../test/support/events';

describe('event ids', () => {
  it('are UUIDv7s whose first 48 bits are the creation time in ms', () => {
    const now = Date.UTC(2026, 10, 28, 4, 20, 0, 123);
    const id = newEventId(now);
    expect(isUuid(id)).toBe(true);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });

  it('sort by creation time across milliseconds, so new ids land at the end of an index on them', () => {
    const start = Date.now();
    const ids = Array.from({ length: 200 }, (_, index) => newEventId(start + index));
    expect([...ids].sort()).toEqual(ids);
  });

  it('are random within a millisecond', () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => newEventId(0)));
    expect(ids.size).toBe(1_000);
  });

  it('are what createEvent gives an event that brings no id of its own', () => {
    const before = Date.now();
    const { id } = createEvent('video.uploaded', { source: '/test', subject: sampleVideoUploaded({ source: '/test' }).subject, data: sampleVideoUploaded({ source: '/test' }).data });
    const millis = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(id[14]).toBe('7');
    expect(millis).toBeGreaterThanOrEqual(before);
    expect(millis).toBeLessThanOrEqual(Date.now());
  });
});
