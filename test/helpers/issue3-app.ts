/**
 * Wires issue 3's parts the way main.ts does (store, bus, rule engine,
 * dispatcher, webhook sender, auth, routes) on a fastify listening on
 * 127.0.0.1, for route and integration tests.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { registerAuth } from '../../src/api/auth.js';
import { PUBLIC } from '../../src/api/access.js';
import { prepareApp } from '../../src/api/server.js';
import { registerEventRoutes } from '../../src/api/routes/events.js';
import { registerRuleRoutes } from '../../src/api/routes/rules.js';
import { registerTriggerRoutes } from '../../src/api/routes/triggers.js';
import { InProcessBus } from '../../src/core/bus.js';
import { rulesSchema, type RulesConfig } from '../../src/rules/config.js';
import { RuleEngine } from '../../src/rules/engine.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.js';
import type { SluiceEvent } from '../../src/store/types.js';
import { triggersSchema, type TriggersConfig } from '../../src/triggers/config.js';
import { TriggerDispatcher } from '../../src/triggers/dispatcher.js';
import { WebhookSender } from '../../src/triggers/webhook.js';

export const ADMIN = 'admin-token-for-tests';
export const VIEWER = 'viewer-token-for-tests';

export interface Issue3App {
  app: FastifyInstance;
  base: string;
  store: SqliteStore;
  bus: InProcessBus<SluiceEvent>;
  engine: RuleEngine;
  dispatcher: TriggerDispatcher;
  webhook: WebhookSender;
  registry: Registry;
  drops: Map<string, number>;
  close(): Promise<void>;
  /** fetch against the app with the admin (default) or viewer token. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON bodies
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any }>;
}

export async function startIssue3App(opts: { rules?: Partial<RulesConfig>; triggers?: Partial<TriggersConfig>; listen?: boolean } = {}): Promise<Issue3App> {
  const store = openSqliteStore(':memory:');
  const registry = new Registry();
  const drops = new Map<string, number>();
  const drop = (stage: string, reason: string, n = 1) => drops.set(`${stage}/${reason}`, (drops.get(`${stage}/${reason}`) ?? 0) + n);
  const bus = new InProcessBus<SluiceEvent>({ drop });
  const rulesCfg = { ...rulesSchema.parse({}), ...opts.rules };
  const trigCfg = { ...triggersSchema.parse({}), ...opts.triggers };
  const engine = new RuleEngine({ store, bus, config: rulesCfg, metrics: { registry }, drop });
  await engine.reload();
  const webhook = new WebhookSender({ store, config: trigCfg, metrics: { registry }, drop });
  const dispatcher = new TriggerDispatcher({ store, bus, webhook });
  await dispatcher.start();

  const app = Fastify();
  prepareApp(app);
  registerAuth(app, { adminToken: ADMIN, viewerToken: VIEWER });
  await registerRuleRoutes(app, { store, engine });
  await registerTriggerRoutes(app, { store, dispatcher, webhook, config: trigCfg });
  await registerEventRoutes(app, { store });
  app.get('/metrics', PUBLIC, async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  let base = '';
  if (opts.listen !== false) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  } else {
    await app.ready();
  }

  const api = async (method: string, path: string, body?: unknown, token = ADMIN) => {
    if (opts.listen === false) {
      const r = await app.inject({ method: method as 'GET', url: path, payload: body as object | undefined, headers: { authorization: `Bearer ${token}` } });
      return { status: r.statusCode, json: r.body ? r.json() : undefined };
    }
    const r = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  };

  return {
    app, base, store, bus, engine, dispatcher, webhook, registry, drops, api,
    close: async () => {
      dispatcher.stop();
      await webhook.close();
      await engine.flush();
      await app.close();
      await store.close();
    },
  };
}
