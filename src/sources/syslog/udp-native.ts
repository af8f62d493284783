/**
 * The native UDP reader (native/udp_core.c, udp_socket.c, udp_binding.c;
 * built by node-gyp at install, Linux only): it reads up to `vlen` datagrams
 * per `recvmmsg` and copies the usual one (a single message without a LF or
 * NUL inside, within the frame cap) straight into the batch's run, so
 * JavaScript runs once per read, not once per datagram. What only JavaScript
 * decides (a change of peer, the RFC 3164 check of a frame without <PRI>, a
 * datagram for the frame decoder) stops the call and is handed back. The
 * dgram reader in udp-receiver.ts is its twin and the fallback: the same
 * datagrams give the same frames and counts (udp-native.test.ts), and
 * `udp_native = false` in a syslog source turns this one off.
 *
 * Why: Node's dgram makes one `recvmsg` and one JS callback (a Buffer and an
 * rinfo object) per datagram; a bare dgram socket read 45-52 % of 100k
 * datagrams/s on the 2-core bench machine (docs/operations.md has the
 * figures before and after).
 */
import { createRequire } from 'node:module';

export type NativeUdpHandle = object;

export interface NativeUdp {
  /** A socket bound to host (an IP literal):port with a receive buffer of rcvbuf bytes (SO_RCVBUFFORCE, else SO_RCVBUF; 0: the system's). Throws with what failed. */
  open(host: string, port: number, rcvbuf: number): NativeUdpHandle;
  bound(h: NativeUdpHandle): { address: string; port: number; family: 4 | 6; rcvbuf: number; forced: boolean };
  /**
   * When no datagram is pending, read (waiting up to timeoutMs for one: TAKE.IDLE when none came),
   * then frame what is pending into run at st[OFF] (TAKE says where it stopped). Every array is
   * used during the call only.
   */
  take(h: NativeUdpHandle, run: Uint8Array, dgram: Uint8Array, peer: Uint8Array, st: Float64Array, timeoutMs: number): number;
  close(h: NativeUdpHandle): void;
  readonly stateSize: number;
  /** Datagrams per recvmmsg. */
  readonly vlen: number;
}

/** Slots of the state array (native/udp_binding.c's enum). */
export const ST = {
  OFF: 0,
  AVAIL: 1,
  FLUSH_AT: 2,
  MAX_FRAME: 3,
  CHECK: 4,
  DATAGRAMS: 5,
  BYTES: 6,
  FRAMES: 7,
  OVERFLOW: 8,
  MARK_START: 9,
  MARK_END: 10,
  NEED: 11,
  LEN: 12,
  ERRNO: 13,
  LINGER_US: 14,
} as const;

/** take's answers (native/udp_core.h, and the binding's IDLE and ERROR). */
export const TAKE = { DONE: 0, PEER: 1, CHECK: 2, ROOM: 3, DGRAM: 4, FULL: 5, IDLE: 6, ERROR: 7 } as const;

/** The dgram buffer take copies a datagram for the frame decoder into (the largest UDP payload fits). */
export const DGRAM_BYTES = 65536;

function load(): { native: NativeUdp | undefined; why: string } {
  if (process.platform !== 'linux') return { native: undefined, why: `not on ${process.platform} (recvmmsg is Linux's)` };
  try {
    const require = createRequire(import.meta.url);
    const m = require('../../../build/Release/sluice_udp.node') as NativeUdp;
    if (m.stateSize !== Object.keys(ST).length) return { native: undefined, why: `native state size ${m.stateSize}, expected ${Object.keys(ST).length} (rebuild: npm rebuild)` };
    return { native: m, why: 'loaded' };
  } catch (err) {
    return { native: undefined, why: `not built (${(err as Error).message.split('\n')[0]})` };
  }
}

const loaded = load();
/** The native reader, or undefined when it was not built (the dgram reader then reads). */
export const nativeUdp: NativeUdp | undefined = loaded.native;
/** Why nativeUdp is what it is (for /api/status). */
export const nativeUdpState: string = loaded.why;
