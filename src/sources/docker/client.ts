/**
 * A small Docker Engine API client over the Unix socket (node:http with
 * `socketPath`; no dependency). The API version is negotiated once from
 * `/version`: the engine's own version, capped at the newest we know and
 * refused below the oldest we need. The event stream is handed out raw
 * (`IncomingMessage`); log streams are read off the socket by
 * engine-stream.ts (the hot path). Back-pressure is plain
 * `pause()`/`resume()` on the socket.
 */
import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import { SluiceError } from '../../core/errors.js';
import { apiError, DOCKER_ERRORS } from './errors.js';
import { EngineStream } from './engine-stream.js';

export { DOCKER_ERRORS };

/** Oldest API version with everything we use (nanosecond `since`, events filters). */
export const MIN_API = '1.24';
/** Newest API version this client was written against. */
export const MAX_API = '1.45';

function cmpVersion(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am! - bm! || an! - bn!;
}

/** Pick the version to speak: the engine's, capped at MAX_API; undefined when below MIN_API. */
export function negotiateVersion(engineApi: string, engineMin?: string): string | undefined {
  if (!/^\d+\.\d+$/.test(engineApi)) return undefined;
  const v = cmpVersion(engineApi, MAX_API) > 0 ? MAX_API : engineApi;
  if (cmpVersion(v, MIN_API) < 0) return undefined;
  if (engineMin && /^\d+\.\d+$/.test(engineMin) && cmpVersion(v, engineMin) < 0) return undefined;
  return v;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  State: string;
  Labels: Record<string, string> | null;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Config: { Tty: boolean; Image: string; Labels: Record<string, string> | null };
  State: { Running: boolean; StartedAt: string; Status: string };
}

export interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

export interface LogStreamOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  /** API `since` value ("<sec>.<nanos>"), inclusive. */
  since?: string;
}

export interface RawStream {
  req: ClientRequest;
  res: IncomingMessage;
}

export class DockerClient {
  readonly socket: string;
  #prefix = '';
  #version: string | undefined;

  constructor(socket: string) {
    this.socket = socket;
  }

  /** The negotiated API version, e.g. "1.41" (after `negotiate`). */
  get version(): string | undefined {
    return this.#version;
  }

  /** GET /version and choose the API version. Safe to call again after an engine restart. */
  async negotiate(): Promise<string> {
    const info = await this.#json<{ ApiVersion: string; MinAPIVersion?: string }>('/version');
    const v = negotiateVersion(info.ApiVersion, info.MinAPIVersion);
    if (!v) throw new SluiceError(DOCKER_ERRORS.VERSION, `engine API ${info.ApiVersion} (min ${info.MinAPIVersion ?? '?'}) is outside ${MIN_API}..${MAX_API}`);
    this.#version = v;
    this.#prefix = `/v${v}`;
    return v;
  }

  async ping(): Promise<boolean> {
    try {
      await this.#request('/_ping');
      return true;
    } catch {
      return false;
    }
  }

  /** Running containers; `labels` become an engine-side label filter. */
  listRunning(labels: Record<string, string> = {}): Promise<ContainerSummary[]> {
    const filters: Record<string, string[]> = { status: ['running'] };
    const l = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    if (l.length) filters.label = l;
    return this.#json(`${this.#prefix}/containers/json?filters=${encodeURIComponent(JSON.stringify(filters))}`);
  }

  /** Inspect; undefined when the container does not exist (any more). */
  async inspect(id: string): Promise<ContainerInspect | undefined> {
    try {
      return await this.#json<ContainerInspect>(`${this.#prefix}/containers/${encodeURIComponent(id)}/json`);
    } catch (e) {
      if (e instanceof SluiceError && (e.details as { status?: number } | undefined)?.status === 404) return undefined;
      throw e;
    }
  }

  /** The container events stream (newline-delimited JSON), from `since` (unix seconds, inclusive) when given. */
  events(since?: string): Promise<RawStream> {
    const filters = { type: ['container'], event: ['start', 'die', 'destroy', 'rename'] };
    let q = `filters=${encodeURIComponent(JSON.stringify(filters))}`;
    if (since) q += `&since=${since}`;
    return this.#stream(`${this.#prefix}/events?${q}`);
  }

  /** The log stream of one container, always with timestamps, read off the socket (engine-stream.ts); paused until `start`. */
  logs(id: string, o: LogStreamOptions): Promise<EngineStream> {
    return EngineStream.open(this.socket, this.logsPath(id, o));
  }

  /** The logs endpoint's path and query (with the negotiated version). */
  logsPath(id: string, o: LogStreamOptions): string {
    let q = `timestamps=1&follow=${o.follow ? 1 : 0}&stdout=${o.stdout ? 1 : 0}&stderr=${o.stderr ? 1 : 0}`;
    if (o.since) q += `&since=${o.since}`;
    return `${this.#prefix}/containers/${encodeURIComponent(id)}/logs?${q}`;
  }

  /** A long-lived GET on its own connection (no agent: destroying it never poisons a pool). */
  #stream(path: string): Promise<RawStream> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socket, path, method: 'GET', agent: false, headers: { Host: 'docker' } });
      req.once('error', (err) => reject(new SluiceError(DOCKER_ERRORS.UNREACHABLE, `${this.socket}: ${err.message}`, { path })));
      req.once('response', (res) => {
        if (res.statusCode !== 200) {
          readAll(res, 64 * 1024)
            .then((body) => reject(apiError(res.statusCode ?? 0, path, body)))
            .catch(reject);
          return;
        }
        resolve({ req, res });
      });
      req.end();
    });
  }

  async #json<T>(path: string): Promise<T> {
    const body = await this.#request(path);
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      throw new SluiceError(DOCKER_ERRORS.API, `invalid JSON from ${path}`, { path });
    }
  }

  #request(path: string, timeoutMs = 10_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socket, path, method: 'GET', agent: false, headers: { Host: 'docker' }, timeout: timeoutMs });
      req.once('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.once('error', (err) => reject(new SluiceError(DOCKER_ERRORS.UNREACHABLE, `${this.socket}: ${err.message}`, { path })));
      req.once('response', (res) => {
        readAll(res, 64 * 1024 * 1024)
          .then((body) => {
            if (res.statusCode === 200) resolve(body);
            else reject(apiError(res.statusCode ?? 0, path, body));
          })
          .catch((err: Error) => reject(new SluiceError(DOCKER_ERRORS.UNREACHABLE, `${this.socket}: ${err.message}`, { path })));
      });
      req.end();
    });
  }
}

function readAll(res: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    res.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        res.destroy(new Error(`response larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', reject);
    res.once('aborted', () => reject(new Error('response aborted')));
  });
}
