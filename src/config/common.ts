/**
 * Building blocks shared by every component's config slice: durations and
 * sizes as humans write them ("250ms", "1s", "14d"; "1MiB", "64KiB"), and the
 * keys every source has. Each component keeps its own slice beside its code
 * (e.g. sources/file/config.ts); config/schema.ts assembles them.
 */
import { z } from 'zod';
import { transformSchema } from '../transforms/config.js';

import { size } from './units.js';
export { duration, parseDuration, parseSize, size } from './units.js';

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
  transforms: z.array(transformSchema).default([]).describe('Ordered transforms run on this source\'s records before the hub (`[[sources.transforms]]`; configuration.md, "Transforms").'),
};
