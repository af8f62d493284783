/**
 * Building blocks shared by every component's config slice: durations and
 * sizes as humans write them ("250ms", "1s", "14d"; "1MiB", "64KiB"), and the
 * keys every source has. Each component keeps its own slice beside its code
 * (e.g. sources/file/config.ts); config/schema.ts assembles them.
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

const LISTEN_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/;

/** "host:port" for a listener; the port 1-65535 (0 would bind a random port nobody could find). */
export const listenAddr = (desc: string) =>
  z
    .string()
    .regex(LISTEN_RE, 'expected "host:port", e.g. "127.0.0.1:8080"')
    .refine((v) => {
      const port = Number(LISTEN_RE.exec(v)?.[2] ?? 1);
      return port >= 1 && port <= 65535;
    }, 'the port must be between 1 and 65535')
    .describe(desc);

/**
 * Is the host of a "host:port" listener a loopback address (127.0.0.0/8,
 * ::1, localhost)? An empty host, 0.0.0.0 and :: listen on every interface.
 */
export function isLoopbackListen(addr: string): boolean {
  const host = addr.slice(0, addr.lastIndexOf(':')).replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./.test(host);
}

export const FORMATS = ['auto', 'json', 'logfmt', 'syslog', 'plain'] as const;

/** Keys every source has. A source slice is `z.strictObject({ ...sourceBase, type: z.literal('x'), ... })`. */
export const sourceBase = {
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only').describe('Unique source name; records carry it as `source`.'),
  stream: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/).optional().describe('Stream the records are published on; default = name.'),
  format: z.enum(FORMATS).default('auto').describe('How each line is parsed: auto-detect per line, or force one parser.'),
  max_line_bytes: size('Longest line kept; longer lines are truncated with a marker and counted.').default(1024 * 1024),
};
