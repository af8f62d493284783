/**
 * The `type = "docker"` source's config slice: which engine to talk to, which
 * containers to follow (labels, name globs), which std streams, which
 * container labels to copy into `origin`, and the timings of discovery. The
 * line cap is the shared `max_line_bytes` (default 1 MiB).
 */
import { z } from 'zod';
import { duration, size, sourceBase } from '../../config/common.js';

/** The engine socket when none is configured: `DOCKER_HOST=unix://...`, else the usual path. */
export function defaultDockerSocket(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host && host.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

/** Accept "unix:///path" or "/path"; the Engine API is only spoken over a Unix socket here. */
export function socketPath(v: string): string {
  return v.startsWith('unix://') ? v.slice('unix://'.length) : v;
}

// Descriptions are set on the outermost schema of each key (after `.default()`), where
// config/schema.ts and the JSON Schema export look for them.
const D = {
  type: 'Follow the logs of Docker containers through the Engine API.',
  socket:
    'Docker Engine API Unix socket ("/var/run/docker.sock" or "unix:///..."). Default: DOCKER_HOST when it is a unix:// address, else /var/run/docker.sock.',
  include_labels:
    'Only containers carrying every one of these labels with exactly these values (e.g. { "sluice.enable" = "true" }). Empty: no label condition.',
  include_names: 'Only containers whose name matches one of these globs (picomatch, without the leading "/"). Empty: every name.',
  exclude_names: 'Skip containers whose name matches one of these globs; wins over include_names.',
  std: 'Which output streams to collect; each record carries `origin.std` so rules can select one.',
  labels: 'Container labels copied into `origin.labels` (exact keys or globs such as "com.example.*").',
  from: 'Where to begin a container found running at the first start, when it has no checkpoint: "start" (everything the engine kept) or "end" (new lines only). Containers that start later are always read from their first line; afterwards checkpoints win.',
  reconcile_interval: 'Periodic full listing that catches container starts and stops missed while the events stream was down.',
  max_frame_bytes: 'Largest multiplexed frame payload accepted; a header announcing more is a lost sync (counted as oversize_frames) and the stream is rescanned for the next frame.',
  source:
    'Docker containers: discovery by list + events with reconnect and reconcile, demultiplexed stdout/stderr, partial lines merged, checkpoints per container so nothing is lost or repeated across restarts.',
} as const;

export const dockerSourceSchema = z
  .strictObject({
    ...sourceBase,
    type: z.literal('docker').describe(D.type),
    socket: z
      .string()
      .min(1)
      .transform(socketPath)
      .default(() => defaultDockerSocket())
      .describe(D.socket),
    include_labels: z.record(z.string().min(1), z.string()).default({}).describe(D.include_labels),
    include_names: z.array(z.string().min(1)).default([]).describe(D.include_names),
    exclude_names: z.array(z.string().min(1)).default([]).describe(D.exclude_names),
    std: z.enum(['both', 'stdout', 'stderr']).default('both').describe(D.std),
    labels: z.array(z.string().min(1)).default([]).describe(D.labels),
    from: z.enum(['start', 'end']).default('start').describe(D.from),
    reconcile_interval: duration(D.reconcile_interval).default(30_000).describe(D.reconcile_interval),
    max_frame_bytes: size(D.max_frame_bytes).default(16 * 1024 * 1024).describe(D.max_frame_bytes),
  })
  .describe(D.source);

export type DockerSourceConfig = z.output<typeof dockerSourceSchema>;
export type DockerSourceInput = z.input<typeof dockerSourceSchema>;
