/** Pick and open the Store named by `[store]`. */
import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import type { StoreConfig } from './config.js';
import { STORE_ERR } from './errors.js';
import { openSqliteStore } from './sqlite/store.js';
import type { Store } from './store.js';

export async function openStore(cfg: StoreConfig, dataDir: string): Promise<Store> {
  if (cfg.kind === 'sqlite') return openSqliteStore(cfg.url ?? path.join(dataDir, 'sluice.db'));
  throw new SluiceError(STORE_ERR.UNSUPPORTED, 'store kind "postgres" is not implemented yet; use kind = "sqlite"');
}
