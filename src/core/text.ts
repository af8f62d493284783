/**
 * What a name shown to people may contain. Names of rules and triggers end up
 * in the UI, in webhook payloads and in terminals: control characters (C0,
 * DEL, C1; NUL among them) can rewrite a terminal line, bidirectional
 * overrides and isolates can make a name read as another (Trojan Source,
 * CVE-2021-42574), and a lone surrogate is not text at all (it cannot be
 * encoded as UTF-8 and breaks every JSON consumer that checks). Each is
 * refused with the offending code point named.
 */
import { z } from 'zod';

// C0 controls, DEL, C1 controls; the bidi embeddings/overrides (U+202A-202E), isolates (U+2066-2069)
// and marks (U+200E, U+200F, U+061C).
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

const hex = (cp: number) => 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');

/** Why `s` cannot be a name, or undefined when it can. */
export function nameProblem(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const d = s.charCodeAt(i + 1); // NaN past the end
    if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) i++; // a pair
    else return `contains a lone surrogate (${hex(c)} at index ${i})`;
  }
  const m = FORBIDDEN.exec(s);
  if (m) {
    const cp = m[0].codePointAt(0)!;
    const kind = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ? 'a control character' : 'a bidirectional formatting character';
    return `contains ${kind} (${hex(cp)} at index ${m.index})`;
  }
  return undefined;
}

/** A trimmed, 1-200 character name that passes nameProblem (rules, triggers). */
export const displayName = () =>
  z
    .string()
    .trim()
    .min(1)
    .max(200)
    .superRefine((v, ctx) => {
      const p = nameProblem(v);
      if (p !== undefined) ctx.addIssue({ code: 'custom', message: p });
    });
