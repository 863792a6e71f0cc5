import { randomFillSync } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Event ids and video ids are UUIDs (any version); anything else is refused before it reaches a uuid column. */
export function isUuid(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}

/**
 * A new event id: a UUIDv7 (RFC 9562). Its first 48 bits are the Unix time
 * in milliseconds, the next 12 a counter (seeded at random each millisecond,
 * RFC 9562's method 1), the rest random, so the ids one process makes only
 * grow: each consumer group's record of processed ids (a primary key on
 * group and id) then grows at its end, and an id tells when its event was
 * made.
 */
export function newEventId(now: number = Date.now()): string {
  if (now > lastMillis) {
    lastMillis = now;
    counter = randomFillSync(Buffer.allocUnsafe(2)).readUInt16BE(0) & 0x7ff; // top bit clear: room to count up
  } else if (++counter > 0xfff) {
    lastMillis += 1; // the counter ran out within this millisecond: borrow the next one
    counter = 0;
  }
  const bytes = randomFillSync(Buffer.allocUnsafe(16));
  bytes.writeUIntBE(lastMillis, 0, 6);
  bytes[6] = 0x70 | (counter >> 8); // version 7, then the counter's high bits
  bytes[7] = counter & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let lastMillis = 0;
let counter = 0;
