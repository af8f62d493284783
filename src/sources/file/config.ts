/**
 * The `type = "file"` source's config slice: which files to tail (globs or
 * directories), where to begin on first sight, how often the safety-net poll
 * runs, when an unterminated last line is emitted, and optional multiline
 * joining, and which symlinks may be followed (the rule itself is in
 * links.ts). The multiline `start` pattern is compiled with RE2 here and a
 * preset name is checked against multiline-presets.ts, so a bad pattern or
 * name is a config error with its key path (`sluice check`), never a runtime
 * surprise. `multiline = "java"` is parsed as `{ preset = "java" }` with the
 * table's defaults.
 */
import RE2 from 're2';
import { z } from 'zod';
import { duration, size, sourceBase } from '../../config/common.js';
import { isMultilinePreset, multilinePresetNames } from './multiline-presets.js';

/** Compile a user pattern with RE2; the error text without RE2's class prefix, or undefined when valid. */
export function re2Error(pattern: string): string | undefined {
  try {
    new RE2(pattern);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

// Descriptions are set on the outermost schema of each key (after `.default()`), where
// config/schema.ts and the JSON Schema export look for them.
const D = {
  start:
    'RE2 pattern that matches the first line of a record (e.g. "^\\\\S" or "^\\\\d{4}-"); the lines after it that do not match are appended to it. Set `start` or `preset`, not both.',
  preset: `A preset that knows a runtime's stack traces: ${multilinePresetNames.map((n) => `"${n}"`).join(', ')} (see Multiline). Set \`start\` or \`preset\`, not both.`,
  timeout: 'Emit a pending multiline record after this much quiet.',
  max_lines: 'Emit a multiline record once it has this many lines.',
  multiline:
    'Join lines into records (stack traces): a preset name (`multiline = "java"`), or a table with `preset` or `start` (a line matching `start` begins a record, the lines after it belong to it).',
  type: 'Tail files.',
  paths:
    'Globs (picomatch; "**" recurses) or directories (every regular file in it) to tail; relative paths are resolved from the working directory.',
  exclude: 'Globs of paths to skip; a pattern without "/" matches the file name.',
  from: 'Where to begin a file seen on the first start (no checkpoint yet). Files that appear later are always read from their start; afterwards saved offsets win.',
  poll_interval: 'Safety-net rescan and re-stat of every file (fs.watch misses and merges events).',
  idle_flush: 'Emit an unterminated last line after this much quiet.',
  rotate_wait:
    'After a file is rotated away or deleted, keep reading it through the open descriptor until it has been quiet this long, then close it.',
  read_buffer: 'Bytes read per chunk; one chunk becomes one batch.',
  follow_symlinks:
    'Follow a matched path that is a symlink (Kubernetes\' /var/log/containers is made of links). When false, every matched symlink is skipped and counted (`refused_link_off`). Either way, no file under /proc, /sys or /dev (by its real path) and nothing but a regular file (no FIFO, socket, device, directory) is ever read.',
  allow_targets:
    'Globs (picomatch, absolute; relative ones are resolved from the working directory) of real paths a symlink may lead to: when set, a link is followed only if its final target\'s real path matches one (`refused_not_allowed`). When empty, a link is followed only if the link itself is owned by root, by Sluice\'s own uid, or by the owner of its final target (modeled on the kernel\'s fs.protected_symlinks: a user cannot plant a link to a file they cannot read, kubelet\'s root-owned links work; `refused_link_owner`). Records read through a link have `origin.path` = the real path and `origin.link` = the link.',
  source:
    'Tail log files: globs and directories, rotation (rename+create, copytruncate), deletion, checkpoints that survive restarts and crashes.',
} as const;

const badPreset = (name: string) => `unknown multiline preset ${JSON.stringify(name)} (expected one of: ${multilinePresetNames.join(', ')})`;
// A string with a check, not a z.enum: a failed enum aborts, and the table would then be reported as a bare
// "Invalid input" of the union below instead of this message that lists the presets.
const presetName = z.string().superRefine((v, ctx) => {
  if (!isMultilinePreset(v)) ctx.addIssue({ code: 'custom', message: badPreset(v) });
});

/** The table form; the string form (a preset name) is parsed into it. */
export const multilineTableSchema = z
  .strictObject({
    start: z
      .string()
      .min(1)
      .superRefine((v, ctx) => {
        const err = re2Error(v);
        if (err !== undefined) ctx.addIssue({ code: 'custom', message: `invalid RE2 pattern: ${err}` });
      })
      .optional()
      .describe(D.start),
    preset: presetName.optional().describe(D.preset),
    timeout: duration(D.timeout).default(1000).describe(D.timeout),
    max_lines: z.number().int().min(1).max(100_000).default(500).describe(D.max_lines),
  })
  .superRefine((v, ctx) => {
    if ((v.start === undefined) === (v.preset === undefined)) {
      ctx.addIssue({ code: 'custom', message: `set exactly one of \`start\` (an RE2 pattern) or \`preset\` (one of: ${multilinePresetNames.join(', ')})` });
    }
  })
  .describe(D.multiline);

/** `multiline = "java"`: the table `{ preset = "java" }` with its defaults. */
const presetOnly = z.string().transform((name, ctx) => {
  const r = multilineTableSchema.safeParse({ preset: name });
  if (r.success) return r.data;
  // A bad name fails both members of the union; config/load.ts reports the member with the fewest
  // problems, the first on a tie: this one (listed first), so the message names the presets.
  for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
  return z.NEVER;
});

// The transform stays inside the union's first member: the table member keeps its output JSON Schema (the
// defaults in docs/configuration.md come from it), which a transform around the union would erase.
const multilineSchema = z.union([presetOnly, multilineTableSchema]).describe(D.multiline);

export const fileSourceSchema = z
  .strictObject({
    ...sourceBase,
    type: z.literal('file').describe(D.type),
    paths: z.array(z.string().min(1)).min(1).describe(D.paths),
    exclude: z.array(z.string().min(1)).default([]).describe(D.exclude),
    from: z.enum(['start', 'end']).default('end').describe(D.from),
    poll_interval: duration(D.poll_interval)
      .refine((ms) => ms >= 10, 'must be at least 10ms')
      .default(1000)
      .describe(D.poll_interval),
    idle_flush: duration(D.idle_flush).default(1000).describe(D.idle_flush),
    rotate_wait: duration(D.rotate_wait).default(5000).describe(D.rotate_wait),
    multiline: multilineSchema.optional().describe(D.multiline),
    read_buffer: size(D.read_buffer)
      .refine((n) => n >= 1024 && n <= 64 * 1024 * 1024, 'must be between 1KiB and 64MiB')
      .default(256 * 1024)
      .describe(D.read_buffer),
    follow_symlinks: z.boolean().default(true).describe(D.follow_symlinks),
    allow_targets: z.array(z.string().min(1)).default([]).describe(D.allow_targets),
  })
  .describe(D.source);

export type FileSourceInput = z.input<typeof fileSourceSchema>;
export type FileSourceConfig = z.output<typeof fileSourceSchema>;
