/**
 * Webhook signatures: `X-Sluice-Signature-256: sha256=<hex HMAC-SHA256 of
 * timestamp + "." + body>` with `X-Sluice-Timestamp` in Unix seconds, so a
 * receiver can reject replays older than its tolerance.
 */
import crypto from 'node:crypto';

export function sign(secret: string, timestamp: number | string, body: string): string {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** Receiver side (used by tests and documented for users): constant-time check plus a freshness window. */
export function verify(secret: string, timestamp: string, body: string, signature: string, toleranceS = 300, nowS = Math.floor(Date.now() / 1000)): boolean {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowS - ts) > toleranceS) return false;
  const expected = Buffer.from(sign(secret, timestamp, body));
  const got = Buffer.from(signature);
  return expected.length === got.length && crypto.timingSafeEqual(expected, got);
}
