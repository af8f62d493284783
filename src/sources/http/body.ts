/**
 * An ingest request's body: read with a byte cap, inflated with a cap on
 * the inflated size (a decompression bomb stops at the cap, in zlib's own
 * output accounting, before anything is parsed), then split into records:
 * a JSON array, or NDJSON (one record per line, blank lines skipped). Each
 * record is checked on its own (sources/records/record.ts): the good ones
 * are kept, the bad ones listed by line (or array item) with the reason.
 */
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { defineError, SluiceError } from '../../core/errors.js';
import type { LogRecord } from '../../core/record.js';
import { mayRewritePrototype, type RecordContext } from '../records/record.js';
import { checkItems, checkNdjsonBytes, newTally, type RecordTally } from '../records/ndjson.js';

export const INGEST_ERR = {
  TOO_LARGE: defineError('SLUICE_ERR_INGEST_TOO_LARGE', 413, 'the body is too large'),
  ENCODING: defineError('SLUICE_ERR_INGEST_ENCODING', 415, 'unsupported Content-Encoding (use gzip, deflate or none)'),
  BAD_ENCODING: defineError('SLUICE_ERR_INGEST_BAD_ENCODING', 400, 'the body cannot be decompressed'),
  BAD_BODY: defineError('SLUICE_ERR_INGEST_BAD_BODY', 400, 'the body holds no acceptable record'),
  BAD_KEY: defineError('SLUICE_ERR_INGEST_BAD_KEY', 400, 'invalid Idempotency-Key'),
  BUSY: defineError('SLUICE_ERR_INGEST_BUSY', 429, 'the pipeline is pushing back; retry after the time in Retry-After'),
  UNKNOWN_SOURCE: defineError('SLUICE_ERR_INGEST_UNKNOWN_SOURCE', 404, 'no HTTP source by that name'),
  STOPPED: defineError('SLUICE_ERR_INGEST_STOPPED', 503, 'the source is not running'),
  ABORTED: defineError('SLUICE_ERR_INGEST_ABORTED', 400, 'the request body ended before it was complete'),
} as const;

/**
 * Read a body, refusing it past `limit` bytes (the rest is not read), and
 * refusing a body cut short (the client went away, or sent less than its
 * Content-Length): its complete lines must not be ingested as if it were whole.
 */
export async function readBody(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  const cut = () => new SluiceError(INGEST_ERR.ABORTED, 'the request body ended before it was complete; nothing of it was ingested');
  try {
    for await (const c of stream) {
      const b = c as Buffer;
      n += b.length;
      if (n > limit) {
        stream.destroy();
        throw new SluiceError(INGEST_ERR.TOO_LARGE, `the body is larger than max_body_bytes (${limit} bytes)`);
      }
      chunks.push(b);
    }
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw cut();
  }
  // an http.IncomingMessage says whether all of it arrived
  if ((stream as Readable & { complete?: boolean }).complete === false) throw cut();
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n);
}

/** The largest output chunk zlib writes into while inflating. */
const MAX_INFLATE_CHUNK = 1024 * 1024;

const gunzip = promisify<zlib.InputType, zlib.ZlibOptions, Buffer>(zlib.gunzip);
const inflate = promisify<zlib.InputType, zlib.ZlibOptions, Buffer>(zlib.inflate);
const inflateRaw = promisify<zlib.InputType, zlib.ZlibOptions, Buffer>(zlib.inflateRaw);

/** Undo Content-Encoding, at most `maxOut` bytes of output (zlib stops there: a bomb costs no more). */
export async function decodeBody(buf: Buffer, encoding: string | undefined, maxOut: number): Promise<Buffer> {
  const enc = (encoding ?? '').trim().toLowerCase();
  const tooBig = () => new SluiceError(INGEST_ERR.TOO_LARGE, `the body inflates past max_inflated_bytes (${maxOut} bytes)`);
  if (enc === '' || enc === 'identity') {
    if (buf.length > maxOut) throw tooBig();
    return buf;
  }
  const run = async (f: typeof gunzip): Promise<Buffer> => {
    try {
      // output chunks sized to the body (zlib's 16 KiB default cost a callback each: inflating a 2.5 MB
      // forwarded batch took twice as long), a small body still gets a small one
      return await f(buf, { maxOutputLength: maxOut, chunkSize: Math.min(MAX_INFLATE_CHUNK, Math.max(zlib.constants.Z_DEFAULT_CHUNK, buf.length * 4)) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw tooBig();
      throw err;
    }
  };
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return await run(gunzip);
    if (enc === 'deflate') {
      // HTTP's "deflate" is zlib-wrapped; some clients send raw deflate: accept both
      try {
        return await run(inflate);
      } catch (err) {
        if (err instanceof SluiceError) throw err;
        return await run(inflateRaw);
      }
    }
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw new SluiceError(INGEST_ERR.BAD_ENCODING, `the body is not valid ${enc}: ${(err as Error).message}`);
  }
  throw new SluiceError(INGEST_ERR.ENCODING, `unsupported Content-Encoding "${enc.slice(0, 40)}" (use gzip, deflate or none)`);
}

/** Good records handed to a sink at a time: a batch's worth, so records die young instead of all living until the body's end (profiled: GC was 18% of ingest's main thread with whole bodies, 8.5% in chunks). */
export const SINK_CHUNK = 1024;

export interface ParsedBody extends RecordTally {
  /** The good records not handed to a sink (all of them without one). */
  records: LogRecord[];
}

/** The body without the BOMs it starts with: a BOM before the first NDJSON record is not part of it. */
export function skipBom(body: Buffer): Buffer {
  let b = 0;
  while (body[b] === 0xef && body[b + 1] === 0xbb && body[b + 2] === 0xbf) b += 3;
  return b > 0 ? body.subarray(b) : body;
}

/** Skip whitespace (and UTF-8 BOMs) at the start of a body: where its first record or its '[' is. */
export function firstNonBlankByte(body: Uint8Array): number {
  let i = 0;
  for (;;) {
    const b = body[i];
    if (b === 32 || b === 9 || b === 10 || b === 13) i++;
    else if (b === 0xef && body[i + 1] === 0xbb && body[i + 2] === 0xbf) i += 3;
    else return i;
  }
}

/**
 * Split a decoded body (UTF-8 bytes) into records. Throws BAD_BODY only when the body as
 * a whole is unreadable (an array that is not JSON), before any record is
 * handed on. With a `sink`, good records go to it in chunks as they are
 * found (it is called synchronously, within this call).
 */
export function parseBody(body: Buffer, ctx: RecordContext, sink?: (records: LogRecord[]) => void): ParsedBody {
  const out: ParsedBody = { ...newTally(), records: [] };
  const good = (r: LogRecord) => {
    out.records.push(r);
    if (sink !== undefined && out.records.length >= SINK_CHUNK) {
      sink(out.records);
      out.records = [];
    }
  };
  const i = firstNonBlankByte(body);
  if (body[i] === 91 /* [ */) {
    const text = body.toString('utf8', i);
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (err) {
      throw new SluiceError(INGEST_ERR.BAD_BODY, `the body starts with "[" but is not a valid JSON array: ${(err as Error).message}`);
    }
    if (!Array.isArray(arr)) throw new SluiceError(INGEST_ERR.BAD_BODY, 'the body is not a JSON array');
    checkItems(arr, ctx, !mayRewritePrototype(text), out, good);
  } else checkNdjsonBytes(skipBom(body), ctx, out, good);
  if (sink !== undefined && out.records.length > 0) {
    sink(out.records);
    out.records = [];
  }
  return out;
}
