/**
 * Reads of an accepted TCP socket into one reused buffer instead of a new
 * one per read (what `net.connect({ onread })` does for a client socket;
 * `net.Server` has no such option for the sockets it accepts).
 *
 * Why: each read otherwise allocates an ArrayBuffer of its own, and V8
 * counts those as external memory, which triggers collections on the main
 * thread. Measured with bench/syslog.ts (tcp-8, 2M lines, three alternating
 * runs each): 3.46-3.61 daemon CPU-s with one buffer, 3.78-3.90 with a
 * buffer per read, and ~5 % more lines/s.
 *
 * How: Node keeps a socket's onread buffer and callback under private
 * symbols (`kBuffer`, `kBufferCb`, `kBufferGen`) and tells the handle to
 * read into it (`useUserBuffer`); they are found on a socket constructed
 * with `onread` and set the same way on an accepted one, before its first
 * read. When anything is missing (another Node), `readInto` returns false
 * and the caller keeps its 'data' listener. `readIntoAvailable()` says which
 * (tests assert it on the Node versions CI runs).
 *
 * The callback gets a view of the same buffer every time: its bytes are
 * valid only during the call (libuv reads into it and calls back before any
 * other read, so the sockets of one listener can share it). pause() and
 * resume() work as usual; 'end', 'error' and 'close' are emitted as usual.
 */
import net from 'node:net';

interface Keys {
  buffer: symbol;
  cb: symbol;
  gen: symbol;
}

let keys: Keys | null | undefined;

function probe(): Keys | null {
  try {
    const s = new net.Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } });
    const find = (d: string): symbol | undefined => Object.getOwnPropertySymbols(s).find((x) => x.description === d);
    const buffer = find('kBuffer');
    const cb = find('kBufferCb');
    const gen = find('kBufferGen');
    const ok = buffer !== undefined && cb !== undefined && gen !== undefined && Buffer.isBuffer((s as unknown as Record<symbol, unknown>)[buffer]);
    s.destroy();
    return ok ? { buffer, cb, gen } : null;
  } catch {
    return null;
  }
}

/** Does this Node let an accepted socket read into a reused buffer? */
export function readIntoAvailable(): boolean {
  if (keys === undefined) keys = probe();
  return keys !== null;
}

/**
 * From the next read on, `socket` reads into `buffer` and calls `onRead`
 * with the bytes read (a view of `buffer`, valid during the call) instead
 * of emitting 'data'. Call it before the socket's first read (in the
 * server's 'connection' listener). False when this Node does not allow it.
 */
export function readInto(socket: net.Socket, buffer: Buffer, onRead: (bytes: Buffer) => void): boolean {
  if (!readIntoAvailable()) return false;
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (b: Uint8Array) => void } | null })._handle;
  if (typeof handle?.useUserBuffer !== 'function') return false;
  const k = keys!;
  const s = socket as unknown as Record<symbol, unknown>;
  s[k.buffer] = buffer;
  s[k.gen] = null;
  s[k.cb] = (n: number) => {
    onRead(buffer.subarray(0, n));
  };
  handle.useUserBuffer(buffer);
  return true;
}
