/**
 * The field names that carry a record's message, level, time, host and app in
 * structured lines (JSON and logfmt share them). First match wins, in this
 * order; a key whose value does not normalize (a level that is not a level, a
 * time that does not parse) is not used and stays in `fields`.
 *
 * - message: msg, message, log, text, MESSAGE (journald)
 * - level:   level, lvl, severity, log.level (ECS, dotted or nested), loglevel,
 *            levelname (python-json-logger), PRIORITY (journald)
 * - time:    time, ts, timestamp, @timestamp, t, __REALTIME_TIMESTAMP (journald, µs)
 * - host:    host, hostname, _HOSTNAME (journald)   (string values only)
 * - app:     app, service, SYSLOG_IDENTIFIER (journald) (string values only)
 *
 * `logger`/`name` are left in fields: in zap and pino they name a component,
 * and `name` is too common a user field to take for the app.
 */
import type { Level, ParsedLine } from '../core/record.js';

export const MESSAGE_KEYS = ['msg', 'message', 'log', 'text', 'MESSAGE'] as const;
export const LEVEL_KEYS = ['level', 'lvl', 'severity', 'log.level', 'loglevel', 'levelname', 'PRIORITY'] as const;
export const TIME_KEYS = ['time', 'ts', 'timestamp', '@timestamp', 't', '__REALTIME_TIMESTAMP'] as const;
export const HOST_KEYS = ['host', 'hostname', '_HOSTNAME'] as const;
export const APP_KEYS = ['app', 'service', 'SYSLOG_IDENTIFIER'] as const;

/** Set `obj[key] = value` as an own data property even for "__proto__". */
export function setField(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * Every parser builds its result here, with all six properties present (undefined
 * when absent), so the records that flow on have one hidden class.
 */
export function makeParsed(
  message: string,
  fields: Record<string, unknown>,
  time: number | undefined,
  level: Level | undefined,
  host: string | undefined,
  app: string | undefined,
): ParsedLine {
  return { time, level, message, fields, host, app };
}

// key -> role * 16 + rank (position in its key list): one Map lookup per key tells
// whether a key is the message, level, time, host or app and how it ranks.
export const ROLE_MESSAGE = 0;
export const ROLE_LEVEL = 1;
export const ROLE_TIME = 2;
export const ROLE_HOST = 3;
export const ROLE_APP = 4;
export const ROLES = new Map<string, number>();
for (const [role, keys] of [
  [ROLE_MESSAGE, MESSAGE_KEYS],
  [ROLE_LEVEL, LEVEL_KEYS],
  [ROLE_TIME, TIME_KEYS],
  [ROLE_HOST, HOST_KEYS],
  [ROLE_APP, APP_KEYS],
] as const) {
  keys.forEach((k, rank) => ROLES.set(k, role * 16 + rank));
}
