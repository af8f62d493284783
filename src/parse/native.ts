/**
 * The native fast path of the parse workers (native/fastparse_core.c, a C
 * core with no N-API in it, and native/binding.c, its N-API binding; built by
 * node-gyp at install): it renders the common lines (JSON, logfmt, RFC 5424,
 * RFC 3164 and plain text) straight from the read bytes into wire records,
 * byte for byte what parseLine + the record serializer write, and hands every
 * other line back to them (a "bail"). JS stays the definition; the native
 * code is only a faster way to the same bytes, and
 * `SLUICE_NATIVE_PARSE=0` turns it off (the pipeline is then all JS).
 *
 * Measured (bench/parse-thread.ts, same day, same machine): one parse
 * thread does 168-265 MiB of input per CPU-second with it, 37-55 without;
 * JSON.parse, JSON.stringify and string encoding were half of the JS time.
 */
import { createRequire } from 'node:module';
import type { Format } from './detect.js';

export interface NativeParse {
  /**
   * Render region[st[POS]..] into out at st[OFF] and the per-record arrays at st[IDX]: STEP.DONE,
   * STEP.BAIL (st[BAIL_START..BAIL_END) is JS's) or STEP.ROOM (st[NEED] more bytes). Every array is
   * passed per call and used during that call only: the native code keeps no pointer into them.
   */
  step(region: Uint8Array, out: Uint8Array, ends: Uint32Array, msg: Uint32Array, times: Float64Array, levels: Uint8Array, mid: Uint8Array, st: Float64Array): number;
  /** The number of '\n' in the bytes. */
  count(bytes: Uint8Array): number;
  /**
   * The lines of bytes[pos..] scanned as relayed wire records (native/relay_core.c, the twin of
   * sources/records/relay.ts's scan): line i's RELAY_SLOTS int32 at out[i * RELAY_SLOTS], its time
   * at times[i]; as many lines as both arrays have room for. Returns the lines scanned.
   */
  relayScan(bytes: Uint8Array, pos: number, out: Int32Array, times: Float64Array): number;
  readonly relaySlots: number;
  readonly stateSize: number;
  readonly abi: number;
  /** The id of the generated tables it was built from (native/tables.h FP_TABLES_ID). */
  readonly tables: string;
}

/**
 * The version of the interface above and of the tables below: native/gen-tables.ts writes it into
 * native/tables.h and the addon exports it; a build from another version is not loaded.
 */
export const NATIVE_ABI = 3;

/** Slots of the state array shared with the native code (native/gen-tables.ts generates its enum from this). */
export const ST = {
  POS: 0,
  OFF: 1,
  IDX: 2,
  BAIL_START: 3,
  BAIL_END: 4,
  NEED: 5,
  NOW: 6,
  FORMAT: 7,
  MAXLINE: 8,
  UTC: 9,
  SEQDIGITS: 10,
  C_JSON: 11,
  C_LOGFMT: 12,
  C_5424: 13,
  C_3164: 14,
  C_PLAIN: 15,
  C_FALLBACK: 16,
  LINES: 17,
} as const;

export const STEP = { DONE: 0, BAIL: 1, ROOM: 2 } as const;

/** A relay scan's int32 slots per line (native/relay_core.h RL_*). */
export const RELAY = { START: 0, END: 1, SEQ_END: 2, T1: 3, O1: 4, M0: 5, M1: 6, LEVEL: 7 } as const;
export const RELAY_SLOTS = 8;
/** RELAY.SEQ_END's answers other than a position: not a record to relay; JS's scan decides (a number C cannot). */
export const RELAY_NO = -1;
export const RELAY_UNSURE = -2;

export const FORMAT_CODE: Readonly<Record<Format, number>> = { auto: 0, json: 1, logfmt: 2, syslog: 3, plain: 4 };

/** The counters the native code keeps, by parseCounters key. */
export const NATIVE_COUNTERS = [
  ['json', ST.C_JSON],
  ['logfmt', ST.C_LOGFMT],
  ['syslog5424', ST.C_5424],
  ['syslog3164', ST.C_3164],
  ['plain', ST.C_PLAIN],
  ['fallback', ST.C_FALLBACK],
] as const;

const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu', 'Etc/UCT', 'UCT', 'Etc/GMT0', 'Etc/GMT+0', 'Etc/GMT-0', 'GMT0']);

/**
 * Whether local time is UTC: then the native code may convert wall-clock times
 * without an offset itself; otherwise those lines go to JS (which asks Date).
 */
export function localZoneIsUtc(): boolean {
  let zone: string | undefined;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return false;
  }
  if (zone === undefined || !UTC_ZONES.has(zone)) return false;
  for (const ms of [0, 1.5e12, 1.77e12, 1.79e12]) if (new Date(ms).getTimezoneOffset() !== 0) return false;
  return true;
}

function load(): { native: NativeParse | undefined; why: string } {
  if (process.env.SLUICE_NATIVE_PARSE === '0') return { native: undefined, why: 'SLUICE_NATIVE_PARSE=0' };
  try {
    const require = createRequire(import.meta.url);
    const m = require('../../build/Release/sluice_fastparse.node') as NativeParse;
    if (m.abi !== NATIVE_ABI) return { native: undefined, why: `native ABI ${String(m.abi)}, expected ${NATIVE_ABI} (rebuild: npm rebuild)` };
    if (m.relaySlots !== RELAY_SLOTS) return { native: undefined, why: `native relay slots ${String(m.relaySlots)}, expected ${RELAY_SLOTS} (rebuild: npm rebuild)` };
    if (m.stateSize !== Object.keys(ST).length) return { native: undefined, why: `native state size ${m.stateSize}, expected ${Object.keys(ST).length} (rebuild: npm rebuild)` };
    return { native: m, why: 'loaded' };
  } catch (err) {
    return { native: undefined, why: `not built (${(err as Error).message.split('\n')[0]})` };
  }
}

const loaded = load();
/** The native module, or undefined when it is off or was not built (the JS parsers then do all the work). */
export const nativeParse: NativeParse | undefined = loaded.native;
/** Why nativeParse is what it is (for /api/status and the startup log). */
export const nativeParseState: string = loaded.why;
