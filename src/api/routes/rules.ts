/**
 * Rule routes (CONTRACT.md): CRUD, /api/rules/test, /api/rules/stats and
 * /api/sources/{name}/effective-rules. Every change is validated (RE2 compile,
 * scope) before it is stored, then the engine rebuilds its snapshot.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SluiceError } from '../../core/errors.js';
import { ADMIN, VIEWER } from '../access.js';
import { compilePattern, RULE_ERR, testPattern } from '../../rules/compile.js';
import { effectiveRules } from '../../rules/effective.js';
import type { RuleEngine } from '../../rules/engine.js';
import { ruleCreateSchema, rulePatchSchema, ruleTestSchema } from '../../rules/schema.js';
import { STORE_ERR } from '../../store/errors.js';
import type { Store } from '../../store/store.js';
import type { Rule, RuleInput } from '../../store/types.js';

export interface RuleRoutesDeps {
  store: Store;
  engine: Pick<RuleEngine, 'reload' | 'stats'>;
}

export const idParam = z.strictObject({ id: z.coerce.number().int().positive() });

export function ruleView(r: Rule) {
  return {
    id: r.id, name: r.name, pattern: r.pattern, severity: r.severity, source: r.source, overrides: r.overrides,
    std: r.std, cooldown_s: r.cooldown_s, enabled: r.enabled,
    created: new Date(r.created).toISOString(), updated: new Date(r.updated).toISOString(),
  };
}

function checkPattern(pattern: string): void {
  const c = compilePattern(pattern);
  if (!c.ok) throw new SluiceError(RULE_ERR.PATTERN_INVALID, `invalid pattern: ${c.error}`, { pattern, error: c.error });
}

export async function registerRuleRoutes(app: FastifyInstance, deps: RuleRoutesDeps): Promise<void> {
  const { store, engine } = deps;

  app.get('/api/rules', VIEWER, async () => ({ rules: (await store.listRules()).map(ruleView) }));

  app.post('/api/rules', ADMIN, async (req, reply) => {
    const body = ruleCreateSchema.parse(req.body);
    let base: Rule | undefined;
    if (body.overrides !== null) {
      base = await store.getRule(body.overrides);
      if (!base) throw new SluiceError(STORE_ERR.RULE_SCOPE, `overrides: no rule ${body.overrides}`);
    }
    const name = body.name ?? base?.name;
    const pattern = body.pattern ?? base?.pattern;
    if (name === undefined || pattern === undefined) {
      throw new SluiceError(STORE_ERR.RULE_SCOPE, 'name and pattern are required (they may be omitted only for an override)');
    }
    checkPattern(pattern);
    const input: RuleInput = {
      name,
      pattern,
      severity: body.severity ?? base?.severity ?? 'warn',
      source: body.source,
      overrides: body.overrides,
      std: body.std ?? base?.std ?? 'both',
      cooldown_s: body.cooldown_s ?? base?.cooldown_s ?? 0,
      enabled: body.enabled,
    };
    const rule = await store.createRule(input);
    await engine.reload();
    return reply.code(201).send(ruleView(rule));
  });

  // Static paths before /:id so "test" and "stats" are never taken for ids.
  app.post('/api/rules/test', ADMIN, async (req) => {
    const body = ruleTestSchema.parse(req.body);
    try {
      return testPattern(body.pattern, body.sample_line);
    } catch (err) {
      const msg = (err as { compileError?: string }).compileError ?? (err as Error).message;
      throw new SluiceError(RULE_ERR.PATTERN_INVALID, `invalid pattern: ${msg}`, { pattern: body.pattern, error: msg });
    }
  });

  app.get('/api/rules/stats', VIEWER, async () => engine.stats());

  app.get('/api/rules/:id', VIEWER, async (req) => {
    const { id } = idParam.parse(req.params);
    const r = await store.getRule(id);
    if (!r) throw new SluiceError(STORE_ERR.RULE_NOT_FOUND, `no rule ${id}`);
    return ruleView(r);
  });

  app.patch('/api/rules/:id', ADMIN, async (req) => {
    const { id } = idParam.parse(req.params);
    const patch = rulePatchSchema.parse(req.body ?? {});
    if (patch.pattern !== undefined) checkPattern(patch.pattern);
    const r = await store.updateRule(id, patch);
    await engine.reload();
    return ruleView(r);
  });

  app.delete('/api/rules/:id', ADMIN, async (req) => {
    const { id } = idParam.parse(req.params);
    const deleted = await store.deleteRule(id);
    await engine.reload();
    return { deleted };
  });

  app.get('/api/sources/:name/effective-rules', VIEWER, async (req) => {
    const { name } = z.strictObject({ name: z.string().min(1).max(200) }).parse(req.params);
    const all = await store.listRules();
    const errors = new Map(engine.stats().compile_errors.map((e) => [e.rule_id, e.error]));
    return {
      source: name,
      rules: effectiveRules(all, name).map((r) => {
        const v = ruleView(r);
        const err = errors.get(r.id);
        return err === undefined ? v : { ...v, compile_error: err };
      }),
    };
  });
}
