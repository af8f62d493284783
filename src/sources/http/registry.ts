/**
 * The seam between HTTP sources and the API server: a source registers
 * itself by name when it starts and leaves when it stops; the ingest route
 * and the auth hook find it here. One registry per daemon.
 */
import type { Readable } from 'node:stream';

export interface IngestRequest {
  /** The request body, not yet read (undefined when there is none). */
  body: Readable | undefined;
  contentLength: number | undefined;
  contentEncoding: string | undefined;
  idempotencyKey: string | undefined;
  /** The client's address (the record's `origin.peer`). */
  peer: string;
}

export interface IngestAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

export interface IngestTarget {
  readonly name: string;
  /** SHA-256 of the source's own token, if it has one. */
  readonly tokenDigest: Buffer | undefined;
  ingest(req: IngestRequest): Promise<IngestAnswer>;
}

export class IngestRegistry {
  readonly #targets = new Map<string, IngestTarget>();

  register(t: IngestTarget): void {
    this.#targets.set(t.name, t);
  }

  /** Only removes `t` itself (a source rebuilt by a reload may have registered under the same name). */
  unregister(t: IngestTarget): void {
    if (this.#targets.get(t.name) === t) this.#targets.delete(t.name);
  }

  get(name: string): IngestTarget | undefined {
    return this.#targets.get(name);
  }
}
