/**
 * SQLite rows <-> the store's types, the opaque event cursor, and the
 * translation of user search text into an FTS5 query.
 */
import { SluiceError } from '../../core/errors.js';
import { STORE_ERR } from '../errors.js';
import { rowMappers } from '../rows.js';

export type { Row } from '../rows.js';

/** SQLite keeps booleans as 0/1 and JSON as text. */
export const { rowToRule, rowToTrigger, rowToEvent, rowToDelivery } = rowMappers({
  bool: (v) => v === 1,
  json: <T>(v: unknown) => JSON.parse(v as string) as T,
});

/** Opaque cursor: the id of the last event of a page, base64url so clients do not build them. */
export function encodeCursor(id: number): string {
  return Buffer.from(`e:${id}`).toString('base64url');
}
export function decodeCursor(cursor: string): number {
  const m = /^e:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new SluiceError(STORE_ERR.CURSOR_INVALID);
  return Number(m[1]);
}

/**
 * Turn user text into an FTS5 query: every word quoted (so FTS syntax in the
 * input is inert) and AND-composed. Undefined when the text has no word.
 */
export function ftsQuery(text: string): string | undefined {
  const words = text.match(/[\p{L}\p{N}_]+/gu);
  if (!words || words.length === 0) return undefined;
  return words.slice(0, 32).map((w) => `"${w}"`).join(' ');
}

