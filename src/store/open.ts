/** Pick and open the Store named by `[store]`. */
import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import type { StoreConfig } from './config.js';
import { STORE_ERR } from './errors.js';
import { openPostgresStore } from './postgres/open.js';
import { openSqliteStore } from './sqlite/store.js';
import type { Store } from './store.js';

export async function openStore(cfg: StoreConfig, dataDir: string): Promise<Store> {
  // Messages start with the config key (the daemon prints them as start-up failures).
  const key = cfg.url === undefined ? 'store' : 'store.url';
  try {
    if (cfg.kind === 'sqlite') return openSqliteStore(cfg.url ?? path.join(dataDir, 'sluice.db'));
    if (cfg.url === undefined) throw new SluiceError(STORE_ERR.OPEN_FAILED, 'kind = "postgres" needs url = "postgres://..."');
    // Connection and migration failures come back as SLUICE_ERR_STORE_OPEN naming the host, never the password.
    return await openPostgresStore(cfg.url);
  } catch (err) {
    if (err instanceof SluiceError && err.code === STORE_ERR.OPEN_FAILED.code) throw new SluiceError(STORE_ERR.OPEN_FAILED, `${key}: ${err.message}`);
    throw err;
  }
}
