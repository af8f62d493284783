/**
 * The `type = "socket"` source's config slice: where the framed Unix socket
 * listens, its file mode, and the bounds a producer cannot push past (frame
 * size, connections). Frames are described in frames.ts.
 */
import { z } from 'zod';
import { size, sourceBase } from '../../config/common.js';

/** The frame header's 24-bit length: the largest frame the format can carry. */
export const FORMAT_MAX_FRAME = 0xffffff;

// Parsing lines does not apply: records arrive as JSON objects (sources/records/record.ts).
const { format: _format, max_line_bytes: _maxLine, ...base } = sourceBase;

const D = {
  type: 'Receive records over a Unix socket in length-prefixed frames (as local agents and log proxies send them).',
  path: 'Path of the Unix socket to create. A stale socket left by an earlier run is removed at start; a live one (another process answers) or any other kind of file there stops the start with an error.',
  mode: 'File mode of the socket (who may connect), as an octal string ("0660") or a TOML octal number (0o660).',
  max_frame_bytes: 'Largest frame payload accepted (at most 16MiB - 1, the header\'s 24 bits). A header announcing more closes that connection, counted as oversize.',
  max_connections: 'Connections at the same time; one past it is closed at once and counted as too_many_connections.',
  source:
    'A framed Unix socket: 4-byte big-endian header (top 8 bits tag, low 24 bits length); tag 1 = one JSON record, 2 = a JSON array of records, 3 = producer status {"dropped":{reason:n}}. Reads pause while the pipeline pushes back (the producer\'s writes block; nothing is dropped).',
} as const;

const mode = z
  .union([z.number().int(), z.string().regex(/^0?o?[0-7]{3,4}$/, 'expected an octal mode such as "0660"')])
  .transform((v) => (typeof v === 'number' ? v : parseInt(v.replace(/^0?o?/, ''), 8)))
  .refine((m) => m >= 0 && m <= 0o777, 'expected a file mode between 0000 and 0777');

export const socketSourceSchema = z
  .strictObject({
    ...base,
    type: z.literal('socket').describe(D.type),
    path: z
      .string()
      .min(1)
      .refine((p) => Buffer.byteLength(p) <= 100, 'a Unix socket path must be at most 100 bytes (the kernel limit is 107 with the terminating byte)')
      .describe(D.path),
    mode: mode.prefault('0660').describe(D.mode),
    max_frame_bytes: size(D.max_frame_bytes)
      .refine((n) => n >= 1 && n <= FORMAT_MAX_FRAME, `must be between 1 and ${FORMAT_MAX_FRAME} (16MiB - 1)`)
      .default(1024 * 1024)
      .describe(D.max_frame_bytes),
    max_connections: z.number().int().min(1).max(100_000).default(256).describe(D.max_connections),
  })
  .describe(D.source);

export type SocketSourceConfig = z.output<typeof socketSourceSchema>;
export type SocketSourceInput = z.input<typeof socketSourceSchema>;
