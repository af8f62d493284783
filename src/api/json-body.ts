/**
 * The API's JSON body parser. It replaces fastify's so that each way a body
 * can be wrong has its own code and a message that says which: empty, not
 * JSON (with the parser's own reason), or carrying a key that rewrites an
 * object's prototype when the body is later merged into another object
 * (`__proto__`, or `constructor` holding `prototype`). JSON.parse itself makes
 * such keys plain own properties, so they are refused here, with their path,
 * before any handler sees them.
 */
import type { FastifyInstance } from 'fastify';
import { defineError, SluiceError } from '../core/errors.js';

export const BODY_ERR = {
  BAD_JSON: defineError('SLUICE_ERR_API_BAD_JSON', 400, 'the body is not valid JSON'),
  FORBIDDEN_KEY: defineError('SLUICE_ERR_API_FORBIDDEN_KEY', 400, 'the body carries a key that is not allowed'),
} as const;

/** The path of the first prototype-rewriting key in `v`, or undefined. Iterative: nesting depth costs no stack. */
export function forbiddenKeyPath(v: unknown): string | undefined {
  const stack: { v: unknown; path: string }[] = [{ v, path: '' }];
  while (stack.length) {
    const { v: cur, path } = stack.pop()!;
    if (cur === null || typeof cur !== 'object') continue;
    if (Array.isArray(cur)) {
      for (let i = cur.length - 1; i >= 0; i--) stack.push({ v: cur[i], path: `${path}[${i}]` });
      continue;
    }
    const o = cur as Record<string, unknown>;
    if (Object.hasOwn(o, '__proto__')) return join(path, '__proto__');
    if (Object.hasOwn(o, 'constructor')) {
      const c = o.constructor;
      if (c !== null && typeof c === 'object' && Object.hasOwn(c, 'prototype')) return join(join(path, 'constructor'), 'prototype');
    }
    for (const k of Object.keys(o).reverse()) stack.push({ v: o[k], path: join(path, k) });
  }
  return undefined;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new SluiceError(BODY_ERR.BAD_JSON, 'the body is empty; send a JSON document or omit Content-Type');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new SluiceError(BODY_ERR.BAD_JSON, `the body is not valid JSON: ${(err as Error).message}`);
  }
  const bad = forbiddenKeyPath(v);
  if (bad !== undefined) throw new SluiceError(BODY_ERR.FORBIDDEN_KEY, `the body carries the key "${bad}", which is not allowed (it would rewrite an object's prototype)`, { path: bad });
  return v;
}

export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
