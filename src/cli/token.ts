/**
 * Which Sluice a client command (`sluice tail`, `sluice status`) talks to
 * and with which token, from what is on this machine: the flag, else env
 * `SLUICE_TOKEN`, else the admin token of the local configuration (its
 * `server.admin_token` or env `SLUICE_ADMIN_TOKEN`), else the file
 * `<data_dir>/admin_token` the daemon generated. The local configuration is
 * `-c FILE`, else `./sluice.toml`, else the defaults (data_dir `./data`,
 * listen `127.0.0.1:8080`), with the daemon's env overrides. It is read
 * lightly (TOML and the few keys needed, nothing validated, nothing written):
 * a client must work beside a config the daemon would refuse.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { envValue, resolveConfigFile } from '../config/load.js';
import { CLIENT_ERR, ClientError, parseBaseUrl, type Target } from './client.js';

export interface LocalConfig {
  /** The file read, or null for the defaults. */
  file: string | null;
  /** data_dir resolved against the working directory, as the daemon does. */
  dataDir: string;
  listen: string;
  tls: boolean;
  adminToken?: string;
  /** Where `adminToken` came from: "env SLUICE_ADMIN_TOKEN" or "server.admin_token in FILE". */
  adminTokenFrom?: string;
}

export interface LocalOptions {
  /** -c FILE */
  config?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The local configuration's data_dir, listen address, TLS and admin token. A -c FILE that cannot be read or parsed is an error (exit 1). */
export function readLocalConfig(o: LocalOptions = {}): LocalConfig {
  const env = o.env ?? process.env;
  const cwd = o.cwd ?? process.cwd();
  const file = resolveConfigFile(o.config, cwd);
  let raw: Record<string, unknown> = {};
  if (file !== null) {
    try {
      raw = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ClientError(CLIENT_ERR.REQUEST, `cannot read the configuration ${file}: ${(err as Error).message.split('\n')[0]}`, false);
    }
  }
  const server = isTable(raw.server) ? raw.server : {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const fromEnv = (name: string): unknown => (env[name] !== undefined && env[name] !== '' ? (envValue(env[name]!) ?? env[name]) : undefined);
  const dataDir = str(env.SLUICE_DATA_DIR) ?? str(raw.data_dir) ?? './data';
  const listen = str(fromEnv('SLUICE_SERVER_LISTEN')) ?? str(server.listen) ?? '127.0.0.1:8080';
  const tls = isTable(fromEnv('SLUICE_SERVER_TLS')) || isTable(server.tls);
  // the daemon's order: the file, then SLUICE_ADMIN_TOKEN, then SLUICE_SERVER_ADMIN_TOKEN
  let adminToken: string | undefined;
  let adminTokenFrom: string | undefined;
  for (const [v, from] of [
    [server.admin_token, `server.admin_token in ${file}`],
    [env.SLUICE_ADMIN_TOKEN, 'env SLUICE_ADMIN_TOKEN'],
    [env.SLUICE_SERVER_ADMIN_TOKEN, 'env SLUICE_SERVER_ADMIN_TOKEN'],
  ] as const) {
    if (str(v) !== undefined) [adminToken, adminTokenFrom] = [v as string, from];
  }
  return { file, dataDir: path.resolve(cwd, dataDir), listen, tls, adminToken, adminTokenFrom };
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The URL a local daemon answers on: its listen address, a wildcard host as loopback. */
export function localUrl(c: LocalConfig): string {
  const i = c.listen.lastIndexOf(':');
  let host = c.listen.slice(0, i);
  const port = c.listen.slice(i + 1);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '[::]' || host === '::') host = '[::1]';
  return `${c.tls ? 'https' : 'http'}://${host}:${port}`;
}

export interface TokenChoice {
  token?: string;
  /** Where the token came from, e.g. "env SLUICE_TOKEN" (never the token). */
  from?: string;
  /** Where one was looked for, said when none was found. */
  hint: string;
}

/** The token: the flag, env SLUICE_TOKEN, the local config's admin token, `<data_dir>/admin_token`. */
export function resolveToken(flag: string | undefined, o: LocalOptions & { local?: () => LocalConfig } = {}): TokenChoice {
  const env = o.env ?? process.env;
  if (flag !== undefined && flag !== '') return { token: flag, from: '--token', hint: '' };
  if (env.SLUICE_TOKEN) return { token: env.SLUICE_TOKEN, from: 'env SLUICE_TOKEN', hint: '' };
  const local = (o.local ?? (() => readLocalConfig(o)))();
  if (local.adminToken !== undefined) return { token: local.adminToken, from: local.adminTokenFrom, hint: '' };
  const file = path.join(local.dataDir, 'admin_token');
  let why: string;
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token) return { token, from: file, hint: '' };
    why = 'empty';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not readable by this user' : ((err as Error).message ?? String(code));
  }
  return { hint: `tried --token, env SLUICE_TOKEN, the admin token of ${local.file ?? 'the default configuration'}, ${file} (${why})` };
}

/** A Target from the URL argument (or the local daemon's) and the token lookup. */
export function resolveTarget(o: LocalOptions & { url?: string; token?: string }): Target {
  let local: LocalConfig | undefined;
  const getLocal = () => (local ??= readLocalConfig(o));
  const base = parseBaseUrl(o.url ?? localUrl(getLocal()));
  const t = resolveToken(o.token, { ...o, local: getLocal });
  return { base, token: t.token, tokenFrom: t.from, tokenHint: t.hint || undefined };
}
