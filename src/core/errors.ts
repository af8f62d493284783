/**
 * The error registry: every failure Sluice reports has a stable code
 * `SLUICE_ERR_<AREA>_<WHAT>`, a default message and an HTTP status. Areas
 * define their codes with `defineError` (in their own module) so the registry
 * is the one list the API maps from (api/errors.ts) and docs enumerate.
 */

export interface ErrorDef {
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

const registry = new Map<string, ErrorDef>();

/** Register a code once at module load; returns the definition to throw with. */
export function defineError(code: string, status: number, message: string): ErrorDef {
  if (!/^SLUICE_ERR_[A-Z0-9]+_[A-Z0-9_]+$/.test(code)) throw new Error(`bad error code ${code}`);
  const existing = registry.get(code);
  if (existing) return existing;
  const def = Object.freeze({ code, status, message });
  registry.set(code, def);
  return def;
}

export function errorRegistry(): ReadonlyMap<string, ErrorDef> {
  return registry;
}

export class SluiceError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: unknown;
  constructor(def: ErrorDef, message?: string, details?: unknown) {
    super(message ?? def.message);
    this.name = 'SluiceError';
    this.code = def.code;
    this.status = def.status;
    this.details = details;
  }
}

export const E = {
  CONFIG_INVALID: defineError('SLUICE_ERR_CONFIG_INVALID', 400, 'invalid configuration'),
  CONFIG_READ: defineError('SLUICE_ERR_CONFIG_READ', 400, 'cannot read configuration file'),
  CONFIG_RELOAD: defineError('SLUICE_ERR_CONFIG_RELOAD', 500, 'configuration reload failed; the old configuration keeps running'),
  API_NOT_FOUND: defineError('SLUICE_ERR_API_NOT_FOUND', 404, 'not found'),
  API_BAD_REQUEST: defineError('SLUICE_ERR_API_BAD_REQUEST', 400, 'bad request'),
  API_UNAUTHORIZED: defineError('SLUICE_ERR_API_UNAUTHORIZED', 401, 'missing or invalid token'),
  API_FORBIDDEN: defineError('SLUICE_ERR_API_FORBIDDEN', 403, 'this token may not do that'),
  API_TOO_MANY: defineError('SLUICE_ERR_API_TOO_MANY', 429, 'too many requests'),
  STREAM_UNKNOWN: defineError('SLUICE_ERR_STREAM_UNKNOWN', 404, 'no such stream'),
  FILTER_INVALID: defineError('SLUICE_ERR_FILTER_INVALID', 400, 'invalid filter'),
  LISTEN_FAILED: defineError('SLUICE_ERR_LISTEN_FAILED', 500, 'cannot listen'),
  INTERNAL: defineError('SLUICE_ERR_INTERNAL_ERROR', 500, 'internal error'),
} as const;
