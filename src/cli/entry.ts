/** Process entry: run the CLI and exit with its code (main.ts never exits itself). */
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`SLUICE_ERR_INTERNAL_ERROR: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
