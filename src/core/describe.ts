/**
 * A source's status in a few words, for the start-up summary of the log:
 * what it found (files and their backlog, containers, listeners), and its
 * last error when it has one.
 */
import type { SourceStatus } from './pipeline.js';

/** How many paths or names a summary lists before "and N more". */
const LIST_MAX = 5;

export function describeSource(s: SourceStatus): string {
  const parts: string[] = [];
  const files = s.files as { path: string; offset: number; size: number }[] | undefined;
  if (files !== undefined) {
    const backlog = files.reduce((n, f) => n + Math.max(0, f.size - f.offset), 0);
    parts.push(files.length === 0 ? 'no file matches its paths yet' : `${files.length} file${files.length === 1 ? '' : 's'} (${list(files.map((f) => f.path))})${backlog > 0 ? `, ${backlog} bytes of backlog` : ''}`);
  }
  const containers = s.containers as { name: string }[] | undefined;
  if (containers !== undefined) parts.push(`socket ${String(s.socket)}, ${containers.length} container${containers.length === 1 ? '' : 's'}${containers.length > 0 ? ` (${list(containers.map((c) => c.name))})` : ''}`);
  const listeners = s.listeners as { transport: string; address: string | null }[] | undefined;
  if (listeners !== undefined) parts.push(`listening on ${listeners.map((l) => `${l.transport} ${l.address ?? '?'}`).join(', ')}`);
  if (typeof s.path === 'string' && s.type === 'socket') parts.push(`listening on ${s.path}`);
  if (typeof s.route === 'string') parts.push(`POST ${s.route}`);
  if (s.last_error !== null && (s.state === 'error' || s.state === 'degraded')) parts.push(`${s.last_error.code}: ${s.last_error.message}`);
  return parts.join('; ') || s.state;
}

function list(names: string[]): string {
  const head = names.slice(0, LIST_MAX).join(', ');
  return names.length > LIST_MAX ? `${head} and ${names.length - LIST_MAX} more` : head;
}
