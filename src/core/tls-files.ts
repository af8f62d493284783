/**
 * The HTTPS certificate and key (`server.tls`), checked before anything
 * listens: each file readable (SLUICE_ERR_TLS_READ), each a PEM OpenSSL
 * accepts, and the key the certificate's (SLUICE_ERR_TLS_INVALID), every
 * message naming the config key. Without this a bad file surfaced as
 * OpenSSL's bare "no start line" from deep inside the HTTP server's creation.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { E, reasonOf, SluiceError } from './errors.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

/** OpenSSL's reason ("no start line", "key values mismatch") without its error-number prefix. */
function opensslReason(err: unknown): string {
  const r = (err as { reason?: unknown }).reason;
  return typeof r === 'string' && r ? r : reasonOf(err);
}

export function checkTlsFiles(tls: TlsFiles): void {
  const read = (k: keyof TlsFiles) => {
    try {
      return readFileSync(tls[k]);
    } catch (err) {
      throw new SluiceError(E.TLS_READ, `server.tls.${k}: cannot read ${tls[k]}: ${reasonOf(err)}`);
    }
  };
  const cert = read('cert');
  const key = read('key');
  try {
    createSecureContext({ cert });
  } catch (err) {
    throw new SluiceError(E.TLS_INVALID, `server.tls.cert: ${tls.cert} is not a PEM certificate: ${opensslReason(err)}`);
  }
  try {
    createSecureContext({ key });
  } catch (err) {
    throw new SluiceError(E.TLS_INVALID, `server.tls.key: ${tls.key} is not a PEM private key (or it is encrypted): ${opensslReason(err)}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new SluiceError(E.TLS_INVALID, `server.tls.key: ${tls.key} does not belong to the certificate in server.tls.cert (${tls.cert}): ${opensslReason(err)}`);
  }
}
