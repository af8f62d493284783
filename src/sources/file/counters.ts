/** The file source's counters (in /api/status and /metrics as sluice_source_events_total). */

/** The counters a source exports (monotonic). */
export interface FileCounters {
  lines: number;
  bytes: number;
  records: number;
  truncated: number;
  repaired: number;
  rotations: number;
  deletions: number;
  truncations: number;
  files_opened: number;
  files_closed: number;
  read_errors: number;
  checkpoint_errors: number;
  replayed: number;
  replay_mismatch: number;
  replay_skipped: number;
  /** Poll passes completed: the globs scanned, every open file read up to its end, what was read committed. */
  polls: number;
  /** Records the pipeline refused with an exception (a bug downstream): counted, never silent. */
  push_errors: number;
  /** Batches the parse pool could not take (a worker died or cannot start), parsed on the main thread instead. */
  parsed_inline: number;
  /** Lines the parse threads' native writer rendered (src/parse/native.ts). */
  native_lines: number;
  /** Lines it handed back to the JS parsers (RFC 5424, invalid UTF-8, over-long, ...). */
  native_bailed: number;
  /** Matched paths refused, by reason (links.ts REFUSAL_COUNTER; the reasons are in the status's `refused`). */
  refused_link_off: number;
  refused_link_owner: number;
  refused_not_allowed: number;
  refused_special: number;
  refused_not_regular: number;
  refused_swapped: number;
}

export function newCounters(): FileCounters {
  return {
    lines: 0, bytes: 0, records: 0, truncated: 0, repaired: 0, rotations: 0, deletions: 0, truncations: 0,
    files_opened: 0, files_closed: 0, read_errors: 0, checkpoint_errors: 0, replayed: 0, replay_mismatch: 0, replay_skipped: 0, polls: 0, push_errors: 0, parsed_inline: 0,
    native_lines: 0, native_bailed: 0,
    refused_link_off: 0, refused_link_owner: 0, refused_not_allowed: 0, refused_special: 0, refused_not_regular: 0, refused_swapped: 0,
  };
}
