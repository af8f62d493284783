/**
 * The `type = "syslog"` source's config slice: where it listens (UDP, TCP,
 * TLS; at least one), the frame cap, the per-listener connection limits and
 * the UDP receive buffer. Lines are parsed as syslog by default (RFC 5424 and
 * RFC 3164; a line that is neither is kept as plain text and counted
 * `parse_error`).
 */
import { z } from 'zod';
import { duration, FORMATS, listenAddr, size, sourceBase } from '../../config/common.js';

const D = {
  type: 'Receive syslog over the network: UDP datagrams, TCP and TLS streams (LF framing or RFC 6587 octet counting, detected per connection).',
  udp: 'UDP "host:port" to receive datagrams on (one message per datagram; a datagram with several lines gives one record per line). Keep it on loopback unless the network is trusted: UDP senders are not authenticated.',
  tcp: 'TCP "host:port" to accept syslog streams on; the framing (LF or octet counting) is detected from the first byte of each connection.',
  tls_listen: 'TLS "host:port" to accept syslog streams on (same framing as tcp; RFC 5425).',
  tls_cert: 'PEM certificate file of the TLS listener.',
  tls_key: 'PEM private key file of the TLS listener.',
  tls_ca: 'PEM CA file: when set, clients must present a certificate signed by it (mutual TLS); when absent, any client may connect.',
  tls: 'Syslog over TLS: { listen, cert, key, ca? }.',
  format: 'How each message is parsed; `syslog` (RFC 5424 or RFC 3164, else plain text counted as parse_error) unless told otherwise.',
  max_frame_bytes:
    'Largest message kept. A longer one is oversize: its head is kept (with a truncation marker), the rest skipped, counted reason="oversize"; the connection stays up (LF framing resyncs at the next newline, octet counting after the announced length).',
  max_connections: 'Open connections per stream listener (tcp, tls); a connection past it is refused (closed at once) and counted `connections_refused`.',
  idle_timeout: 'A TCP or TLS connection that sends nothing for this long is closed and counted `idle_timeout` (not while Sluice itself holds the connection back). 0: never.',
  udp_rcvbuf: 'Kernel receive buffer of the UDP socket (SO_RCVBUF; Linux caps it at net.core.rmem_max unless the native reader may pass it with SO_RCVBUFFORCE, as root or with CAP_NET_ADMIN; the kernel reports twice the value). Larger absorbs bursts; what the kernel still drops is read from /proc/net/udp and counted reason="kernel". 0: the system default.',
  udp_native:
    'Read the UDP socket with the native reader (recvmmsg, up to 64 datagrams per system call, the usual datagram framed in C; Linux, built at install) when it is built. false: Node\'s dgram socket, one datagram per callback (about half of 100k datagrams/s read on a 2-core machine). /api/status shows which reads (`reader`, `reader_why`).',
  source:
    'Syslog listeners: UDP, TCP and TLS; per connection, LF framing or RFC 6587 octet counting; RFC 5424 (structured data into fields.sd, relayed envelopes unwrapped) and RFC 3164. Records carry origin { kind: "syslog", transport, peer }.',
} as const;

export const syslogTlsSchema = z
  .strictObject({
    listen: listenAddr(D.tls_listen),
    cert: z.string().min(1).describe(D.tls_cert),
    key: z.string().min(1).describe(D.tls_key),
    ca: z.string().min(1).optional().describe(D.tls_ca),
  })
  .describe(D.tls);

export const syslogSourceSchema = z
  .strictObject({
    ...sourceBase,
    type: z.literal('syslog').describe(D.type),
    format: z.enum(FORMATS).default('syslog').describe(D.format),
    udp: listenAddr(D.udp).optional(),
    tcp: listenAddr(D.tcp).optional(),
    tls: syslogTlsSchema.optional(),
    max_frame_bytes: size(D.max_frame_bytes)
      .refine((n) => n >= 64 && n <= 16 * 1024 * 1024, 'must be between 64 bytes and 16MiB')
      .default(64 * 1024)
      .describe(D.max_frame_bytes),
    max_connections: z.number().int().min(1).max(100_000).default(1024).describe(D.max_connections),
    idle_timeout: duration(D.idle_timeout).default(600_000).describe(D.idle_timeout),
    udp_rcvbuf: size(D.udp_rcvbuf).default(4 * 1024 * 1024).describe(D.udp_rcvbuf),
    udp_native: z.boolean().default(true).describe(D.udp_native),
  })
  // address clashes (tcp and tls.listen, or with other listeners) are checked across the config (config/schema.ts crossChecks)
  .superRefine((c, ctx) => {
    if (c.udp === undefined && c.tcp === undefined && c.tls === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a syslog source needs at least one listener: udp, tcp or tls', path: ['udp'] });
    }
  })
  .describe(D.source);

export type SyslogSourceConfig = z.output<typeof syslogSourceSchema>;
export type SyslogSourceInput = z.input<typeof syslogSourceSchema>;
