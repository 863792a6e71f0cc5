const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Event ids and video ids are UUIDs; anything else is refused before it reaches a uuid column. */
export function isUuid(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}
