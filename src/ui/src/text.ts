/**
 * Small text helpers: match ranges for highlighting the live filter, time
 * and number formatting, and the RE2 -> JavaScript pattern translation the
 * highlighter needs (the server filters with RE2; the browser only marks).
 */

export type Range = [start: number, end: number];

/** A JS RegExp that marks what an RE2 pattern matches, or null when it has no JS twin. */
export function highlighter(q: string, re: string): RegExp | null {
  if (re) {
    let src = re;
    let flags = 'gu';
    // RE2's leading flag group; JS has no inline flags for the whole pattern
    const m = /^\(\?([imsU]+)\)/.exec(src);
    if (m) {
      src = src.slice(m[0].length);
      if (m[1]!.includes('i')) flags += 'i';
      if (m[1]!.includes('s')) flags += 's';
      if (m[1]!.includes('m')) flags += 'm';
    }
    src = src.replace(/\(\?P</g, '(?<');
    try {
      return new RegExp(src, flags);
    } catch {
      return null;
    }
  }
  if (q) return new RegExp(q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'giu');
  return null;
}

/** Up to `max` non-empty match ranges of `hl` in `text`. */
export function matchRanges(hl: RegExp | null, text: string, max = 50): Range[] {
  if (!hl) return [];
  const out: Range[] = [];
  hl.lastIndex = 0;
  for (let m = hl.exec(text); m !== null && out.length < max; m = hl.exec(text)) {
    if (m[0].length === 0) {
      hl.lastIndex++;
      continue;
    }
    out.push([m.index, m.index + m[0].length]);
  }
  return out;
}

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;
const pad3 = (n: number) => (n < 10 ? '00' : n < 100 ? '0' : '') + n;

/** HH:MM:SS.mmm in the browser's time zone (the full date is in the row's title). */
export function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${pad3(d.getMilliseconds())}`;
}

/** A local date and time to the second. */
export function dateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

const nf = new Intl.NumberFormat('en');
export const num = (n: number) => nf.format(n);

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function duration(s: number): string {
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m ${s % 60}s`;
}

/**
 * One display line: newlines and control characters made visible, one UTF-16
 * unit for one (so match ranges found on the original still apply), cut for the row.
 */
export function oneLine(s: string, max = 2000): string {
  const t = s.length > max ? s.slice(0, max) + '…' : s;
  // eslint-disable-next-line no-control-regex
  return t.replace(/[\r\n\t\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => (c === '\n' ? '⏎' : c === '\t' ? ' ' : '·'));
}
