import { decodeCursor, encodeCursor } from '../src/cursor';

describe('listing cursors', () => {
  it('round-trip the last item of a page', () => {
    const cursor = { createdAt: new Date('2026-11-27T23:18:52.922Z'), id: '1f0c7a53-8f4e-4d0e-9b7e-3f1e8a1c2b3d' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it.each(['garbage', Buffer.from('2026-01-01T00:00:00Z|not-a-uuid').toString('base64url'), Buffer.from('yesterday|1f0c7a53-8f4e-4d0e-9b7e-3f1e8a1c2b3d').toString('base64url')])(
    'refuses %s with invalid_cursor',
    (raw) => {
      expect(() => decodeCursor(raw)).toThrow(expect.objectContaining({ code: 'invalid_cursor', status: 400 }));
    },
  );
});
