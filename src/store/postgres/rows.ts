/**
 * PostgreSQL rows <-> the store's types. The pool parses BIGINT as a JS number
 * and `json` columns as values (see store.ts `PG_TYPES`), so these mirror
 * sqlite/rows.ts except for booleans (real BOOLEAN here) and JSON (already parsed).
 */
import { rowMappers } from '../rows.js';

export type { Row } from '../rows.js';

/** PostgreSQL has real BOOLEANs, and the pool parses json columns. */
export const { rowToRule, rowToTrigger, rowToEvent, rowToDelivery } = rowMappers({
  bool: (v) => v === true,
  json: <T>(v: unknown) => v as T,
});

/** PostgreSQL text cannot hold NUL; SQLite can. Replace it rather than fail the batch. */
export function noNul(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}
