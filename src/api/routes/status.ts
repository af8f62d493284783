/** /healthz, /metrics, /api/status, /api/whoami, /api/streams and POST /api/config/reload. */
import type { FastifyInstance } from 'fastify';
import type { DaemonView } from '../view.js';
import { ADMIN, PUBLIC, VIEWER } from '../access.js';
import { sseClientCount } from '../../sinks/sse/sse.js';
import { clientSlack } from '../../sinks/write.js';
import { E, SluiceError } from '../../core/errors.js';
import { requestRole } from '../auth.js';

export function registerStatusRoutes(app: FastifyInstance, view: DaemonView): void {
  app.get('/healthz', PUBLIC, async () => ({ status: 'ok' }));

  app.get('/metrics', PUBLIC, async (_req, reply) => {
    const m = view.metrics();
    m.clients.set({ kind: 'sse' }, sseClientCount());
    m.clients.set({ kind: 'tcp' }, view.tcpOutputs().reduce((n, t) => n + t.clients.length, 0));
    reply.header('Content-Type', m.contentType);
    return m.text();
  });

  app.get('/api/status', VIEWER, async () => {
    const hub = view.hub();
    const tcp = view.tcpOutputs();
    const mem = process.memoryUsage();
    return {
      version: view.version,
      uptime_s: Math.round((Date.now() - view.startedAt) / 1000),
      pid: process.pid,
      seq: hub.lastSeq,
      sources: view.sources(),
      streams: hub.streamInfo().map((s) => ({
        ...s,
        sse_clients: hub.subscribers().filter((c) => c.stream === s.name && c.stage === 'sse').length,
        tcp: tcp.find((t) => t.stream === s.name) ?? null,
      })),
      all_streams_sse_clients: hub.allClients(),
      ...view.extraStatus(),
      drops: view.metrics().drops(),
      memory: { rss: mem.rss, heap_used: mem.heapUsed, external: mem.external, ring_bytes: hub.ringBytes(), client_buffers: clientSlack.used, client_buffers_max: clientSlack.total, budget: view.config().limits.memory },
    };
  });

  // One source: its status (state, counters) and its transform chain with per-transform counters.
  app.get('/api/sources/:name', VIEWER, async (req) => {
    const { name } = req.params as { name: string };
    const src = view.sources().find((x) => x.name === name);
    if (src === undefined) throw new SluiceError(E.API_NOT_FOUND, `no source named "${name.slice(0, 200)}"`);
    return { ...src, transforms: view.transformChain?.(name) ?? [] };
  });

  // What the presented token may do, so a client (the web UI) can hide what it could not use.
  // Without auth installed (core tests) every call is open: admin.
  app.get('/api/whoami', VIEWER, async (req) => ({ role: requestRole(req) ?? 'admin' }));

  app.get('/api/streams', VIEWER, async () => {
    const cfg = view.config();
    const hub = view.hub();
    return {
      streams: hub.streamInfo().map((s) => ({
        name: s.name,
        sources: cfg.sources.filter((src) => (src.stream ?? src.name) === s.name).map((src) => src.name),
        tcp: cfg.streams.find((x) => x.name === s.name)?.tcp ?? null,
        records: s.records,
        first_seq: s.ring.firstSeq,
        last_seq: s.ring.lastSeq,
        clients: s.clients,
      })),
    };
  });

  app.post('/api/config/reload', ADMIN, async (_req, reply) => {
    const r = await view.reload();
    if (!r.ok) throw new SluiceError(E.CONFIG_RELOAD, 'new configuration refused; the old one keeps running', r.problems);
    return reply.send(r);
  });
}
