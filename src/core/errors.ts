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
  // Start-up failures (`sluice run` prints `CODE: message` and exits 1; see docs/operations.md).
  DATA_DIR_CREATE: defineError('SLUICE_ERR_DATA_DIR_CREATE', 500, 'cannot create data_dir'),
  DATA_DIR_NOT_WRITABLE: defineError('SLUICE_ERR_DATA_DIR_NOT_WRITABLE', 500, 'cannot write in data_dir'),
  DATA_DIR_STATE: defineError('SLUICE_ERR_DATA_DIR_STATE', 500, 'a state file in data_dir cannot be read or is not valid'),
  AUTH_TOKEN_READ: defineError('SLUICE_ERR_AUTH_TOKEN_READ', 500, 'cannot read the generated admin token file'),
  TLS_READ: defineError('SLUICE_ERR_TLS_READ', 500, 'cannot read the TLS certificate or key file'),
  TLS_INVALID: defineError('SLUICE_ERR_TLS_INVALID', 500, 'invalid TLS certificate or key'),
  SOURCE_BUILD: defineError('SLUICE_ERR_SOURCE_BUILD', 500, 'cannot build a source from its configuration'),
  SOURCE_RESTORE: defineError('SLUICE_ERR_SOURCE_RESTORE', 500, 'cannot restore a source from its checkpoint'),
  SOURCE_START: defineError('SLUICE_ERR_SOURCE_START', 500, 'cannot start a source'),
  INTERNAL: defineError('SLUICE_ERR_INTERNAL_ERROR', 500, 'internal error'),
} as const;

/** OS error codes in words, for messages people read ("address in use" rather than EADDRINUSE alone). */
const OS_REASONS: Record<string, string> = {
  EADDRINUSE: 'address in use',
  EADDRNOTAVAIL: 'address not available',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ERR_SOCKET_BAD_PORT: 'port out of range (0-65535)',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
};

/** One line for a message: an error's text (its own newlines folded) or, for a known OS error, its words and code. */
export function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const words = typeof code === 'string' ? OS_REASONS[code] : undefined;
  if (words) return `${words} (${code})`;
  return oneLine(err instanceof Error ? err.message : String(err));
}

/** Fold newlines so a message stays one line in logs and on the terminal. */
export function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, '; ').trim();
}
