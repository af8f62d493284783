/**
 * Durations and sizes as humans write them ("250ms", "1s", "14d"; "1MiB",
 * "64KiB"), parsed to milliseconds and bytes. Apart from config/common.ts so
 * that component slices it imports (transforms/config.ts) can use them too.
 */
import { z } from 'zod';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const DURATION_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parse "250ms" / "1s" / "5m" / "2h" / "14d" to milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * DURATION_MS[m[2] as keyof typeof DURATION_MS]);
}

/** A duration key: a string like "1s" or a number of milliseconds; parsed to ms. */
export const duration = (desc: string) =>
  z
    .union([z.number().nonnegative(), z.string()])
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid duration "${v}" (use e.g. 250ms, 1s, 5m, 2h, 14d)` });
        return z.NEVER;
      }
      return ms;
    })
    .describe(desc);

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?$/i;
const SIZE_MULT: Record<string, number> = { b: 1, kb: 1000, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3 };

/** Parse "64KiB" / "1MiB" / "512" to bytes; undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_MULT[(m[2] ?? 'b').toLowerCase()]!);
}

/** A size key: a string like "1MiB" or a number of bytes; parsed to bytes. */
export const size = (desc: string) =>
  z
    .union([z.number().int().nonnegative(), z.string()])
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const n = parseSize(v);
      if (n === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid size "${v}" (use e.g. 512, 64KiB, 1MiB, 2GiB)` });
        return z.NEVER;
      }
      return n;
    })
    .describe(desc);
