/** The Docker source's errors, and an Engine API error response made one (client.ts, engine-stream.ts). */
import { SluiceError, defineError } from '../../core/errors.js';

export const DOCKER_ERRORS = {
  UNREACHABLE: defineError('SLUICE_ERR_DOCKER_UNREACHABLE', 503, 'cannot reach the Docker engine socket'),
  API: defineError('SLUICE_ERR_DOCKER_API', 502, 'the Docker engine answered with an error'),
  VERSION: defineError('SLUICE_ERR_DOCKER_VERSION', 502, 'the Docker engine API version is too old'),
} as const;

/** An Engine API answer other than 200: its JSON `message` (or text), capped. */
export function apiError(status: number, path: string, body: Buffer): SluiceError {
  let msg = body.toString('utf8').trim();
  try {
    msg = (JSON.parse(msg) as { message?: string }).message ?? msg;
  } catch {
    /* plain text */
  }
  return new SluiceError(DOCKER_ERRORS.API, `${path}: ${status} ${msg.slice(0, 500)}`, { status, path });
}
