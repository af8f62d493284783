/**
 * `sluice status [URL]`: a human summary of a running Sluice from
 * `GET /api/status` (status-view.ts), sampled twice a second apart for the
 * rate of each source; `--json` prints the status as the daemon answered it.
 * The URL and the token are found as for `sluice tail` (token.ts); failures
 * end with the exit codes of client.ts. A refused connection or a 5xx is
 * retried only when --max-retries allows it (default 0: status is a snapshot).
 */
import { CLIENT_ERR, ClientError, EXIT, getJson, networkError, report, sleep, withRetries, type Target } from './client.js';
import { renderStatus, type StatusJson } from './status-view.js';

export interface StatusOptions {
  target: Target;
  json: boolean;
  maxRetries: number;
  /** Time between the two samples of the rate (default 1 s). */
  sampleMs?: number;
  out?: (text: string) => void;
}

async function fetchStatus(target: Target): Promise<StatusJson> {
  const st = await getJson<unknown>(target, '/api/status');
  if (typeof st !== 'object' || st === null || Array.isArray(st)) throw new ClientError(CLIENT_ERR.ANSWER, `${target.base.href} answered /api/status with something other than a status object`, false);
  return st as StatusJson;
}

export async function runStatus(o: StatusOptions): Promise<number> {
  const out = o.out ?? ((t: string) => process.stdout.write(t));
  const base = o.target.base;
  let retries = 0;
  let first: StatusJson;
  try {
    first = await withRetries(() => fetchStatus(o.target), {
      maxRetries: o.maxRetries,
      base,
      onRetry: (e, ms) => {
        retries++;
        process.stderr.write(`-- ${e.message}; retrying in ${ms} ms --\n`);
      },
    });
  } catch (err) {
    const e = networkError(err, base);
    return report('status', e, e.retryable ? retries : undefined);
  }
  if (o.json) {
    out(JSON.stringify(first) + '\n');
    return EXIT.OK;
  }
  const t0 = performance.now();
  await sleep(o.sampleMs ?? 1000);
  let second: StatusJson | undefined;
  let note = '';
  try {
    second = await fetchStatus(o.target);
  } catch (err) {
    note = `(no rates: the second sample failed: ${networkError(err, base).message})\n`;
  }
  const ms = performance.now() - t0;
  const url = base.href.replace(/\/$/, '');
  out(second !== undefined ? renderStatus(second, { url, earlier: { status: first, ms } }) : renderStatus(first, { url }) + note);
  return EXIT.OK;
}
