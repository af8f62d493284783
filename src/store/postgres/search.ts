/**
 * Full-text search for the PostgreSQL store, tokenized like SQLite's FTS5
 * `unicode61` tokenizer so `q` behaves the same on both stores: a token is a
 * run of letters and digits (anything else separates, `_` included), case and
 * diacritics are folded. PostgreSQL's default text-search parser is not used
 * on raw messages: it keeps `java.lang.OutOfMemoryError` as one "host" token
 * and `/var` as a "file" token, so a search for `OutOfMemoryError` would miss.
 * Instead the store feeds it the already-split, folded words, and both the
 * `events.search` tsvector and the query go through the same function.
 */

/** At most this much normalized text is indexed per message (tsvector is capped at 1 MB). */
const MAX_INDEXED_CHARS = 200_000;
const MAX_QUERY_WORDS = 32;

/** Case- and diacritic-folded words of `text`, in order. */
export function searchTokens(text: string): string[] {
  const folded = text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
  return folded.match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The text given to `to_tsvector('simple', ...)` for a message. */
export function searchDocument(message: string): string {
  const doc = searchTokens(message).join(' ');
  if (doc.length <= MAX_INDEXED_CHARS) return doc;
  const cut = doc.lastIndexOf(' ', MAX_INDEXED_CHARS);
  return doc.slice(0, cut > 0 ? cut : MAX_INDEXED_CHARS);
}

/**
 * Turn user text into a `to_tsquery('simple', ...)` argument, the twin of
 * sqlite/rows.ts `ftsQuery`: every word (`[\p{L}\p{N}_]+`, at most 32) becomes
 * a phrase of its tokens (`foo_bar` -> `foo <-> bar`), phrases are AND-composed.
 * Operands are letters and digits only, so tsquery syntax in the input is inert.
 * - `undefined`: the text has no word (only punctuation); callers fall back to a substring test;
 * - `null`: it has words but none with a token (e.g. `_`), which matches nothing, as in FTS5.
 */
export function tsQuery(text: string): string | null | undefined {
  const words = text.match(/[\p{L}\p{N}_]+/gu);
  if (!words || words.length === 0) return undefined;
  const phrases = words
    .slice(0, MAX_QUERY_WORDS)
    .map((w) => searchTokens(w).join(' <-> '))
    .filter((p) => p !== '');
  return phrases.length === 0 ? null : phrases.join(' & ');
}
