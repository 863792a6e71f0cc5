/**
 * The `code` of a Node or pg error. Duck-typed rather than `instanceof Error`: in jest's
 * sandbox, errors from Node's core modules and from jest itself come from another realm.
 */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
