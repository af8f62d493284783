/**
 * Trigger routes (CONTRACT.md): CRUD, /test (one real delivery, its status,
 * latency and response snippet) and /deliveries. The secret is write-only:
 * reads show "********" (or "" when none), and a PATCH carrying "********"
 * keeps the stored one. PATCH is a partial update (filter keys merge).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defineError, SluiceError } from '../../core/errors.js';
import { ADMIN, VIEWER } from '../access.js';
import { compilePattern } from '../../rules/compile.js';
import { STORE_ERR } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import type { Delivery, SluiceEvent, Trigger, TriggerPatch } from '../../store/types.js';
import type { TriggersConfig } from '../../triggers/config.js';
import type { TriggerDispatcher } from '../../triggers/dispatcher.js';
import { SECRET_PLACEHOLDER, triggerCreateSchema, triggerPatchSchema } from '../../triggers/schema.js';
import { checkWebhookUrl } from '../../triggers/ssrf.js';
import type { WebhookSender } from '../../triggers/webhook.js';
import { idParam } from './rules.js';

export const TRIGGER_ERR = {
  FILTER_INVALID: defineError('SLUICE_ERR_TRIGGER_FILTER', 400, 'invalid trigger filter'),
} as const;

export interface TriggerRoutesDeps {
  store: Store;
  dispatcher: Pick<TriggerDispatcher, 'reload' | 'stats'>;
  webhook: Pick<WebhookSender, 'test' | 'stats' | 'cancelTrigger'>;
  config: Pick<TriggersConfig, 'allow_hosts'>;
}

export function triggerView(t: Trigger) {
  return {
    id: t.id, name: t.name, url: t.url, secret: t.secret ? SECRET_PLACEHOLDER : '', filter: t.filter, enabled: t.enabled,
    created: new Date(t.created).toISOString(), updated: new Date(t.updated).toISOString(),
  };
}

function deliveryView(d: Delivery) {
  return { ...d, time: new Date(d.time).toISOString() };
}

function checkFilterRe(re: string | null | undefined): void {
  if (re === null || re === undefined || re === '') return;
  const c = compilePattern(re);
  if (!c.ok) throw new SluiceError(TRIGGER_ERR.FILTER_INVALID, `filter.message_re: ${c.error}`, { message_re: re, error: c.error });
}

/** The event `POST /test` sends: the real payload shape, marked as a test. */
export function sampleEvent(t: Trigger): SluiceEvent {
  return {
    id: 0, time: Date.now(), severity: t.filter.severity[0] ?? 'error', source: t.filter.source[0] ?? 'sluice-test',
    rule_id: 0, rule_name: 'sluice test delivery', message: `Test delivery for trigger "${t.name}" from Sluice`,
    captures: {}, record_seq: 0, origin: { kind: 'test' },
  };
}

export async function registerTriggerRoutes(app: FastifyInstance, deps: TriggerRoutesDeps): Promise<void> {
  const { store, dispatcher, webhook, config } = deps;
  const get = async (id: number) => {
    const t = await store.getTrigger(id);
    if (!t) throw new SluiceError(STORE_ERR.TRIGGER_NOT_FOUND, `no trigger ${id}`);
    return t;
  };

  app.get('/api/triggers', VIEWER, async () => ({ triggers: (await store.listTriggers()).map(triggerView), stats: { ...dispatcher.stats(), delivery: webhook.stats() } }));

  app.post('/api/triggers', ADMIN, async (req, reply) => {
    const body = triggerCreateSchema.parse(req.body);
    checkWebhookUrl(body.url, config.allow_hosts);
    checkFilterRe(body.filter.message_re);
    if (body.secret === SECRET_PLACEHOLDER) {
      throw new SluiceError(TRIGGER_ERR.FILTER_INVALID, `"${SECRET_PLACEHOLDER}" is the redaction placeholder, not a usable secret`);
    }
    const t = await store.createTrigger(body);
    await dispatcher.reload();
    return reply.code(201).send(triggerView(t));
  });

  app.get('/api/triggers/:id', VIEWER, async (req) => triggerView(await get(idParam.parse(req.params).id)));

  app.patch('/api/triggers/:id', ADMIN, async (req) => {
    const { id } = idParam.parse(req.params);
    const body = triggerPatchSchema.parse(req.body ?? {});
    if (body.url !== undefined) checkWebhookUrl(body.url, config.allow_hosts);
    checkFilterRe(body.filter?.message_re);
    const patch: TriggerPatch = { ...body };
    if (patch.secret === SECRET_PLACEHOLDER) delete patch.secret; // the echo of a read keeps the secret
    const t = await store.updateTrigger(id, patch);
    await dispatcher.reload();
    return triggerView(t);
  });

  app.delete('/api/triggers/:id', ADMIN, async (req, reply) => {
    const { id } = idParam.parse(req.params);
    await store.deleteTrigger(id);
    await dispatcher.reload();
    webhook.cancelTrigger(id);
    return reply.code(204).send();
  });

  app.post('/api/triggers/:id/test', ADMIN, async (req) => {
    const t = await get(idParam.parse(req.params).id);
    return webhook.test(t, sampleEvent(t));
  });

  app.get('/api/triggers/:id/deliveries', VIEWER, async (req) => {
    const { id } = idParam.parse(req.params);
    const { limit } = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }).parse(req.query);
    await get(id);
    return { deliveries: (await store.listDeliveries(id, limit)).map(deliveryView) };
  });
}
