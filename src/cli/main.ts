/**
 * The `sluice` command line (commander). Exit codes: 0 ok, 1 invalid input or
 * config, 2 usage error; a fatal runtime error prints its SLUICE_ERR_ code.
 */
import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { loadConfig } from '../config/load.js';
import { Daemon } from '../main.js';
import { createLog } from '../core/log.js';
import { VERSION } from '../version.js';
import { runTail } from './tail.js';
import { runStatus } from './status.js';
import { preflight } from './preflight.js';
import { ClientError, EXIT, report, type Target } from './client.js';
import { resolveTarget } from './token.js';
import { E, oneLine, SluiceError } from '../core/errors.js';

/** The flags of `run` that override config keys, and the flag each key came from (named in its problems). */
const OVERRIDE_FLAGS = { 'server.listen': '--listen', data_dir: '--data-dir' } as const;

function overridesFrom(o: { listen?: string; dataDir?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (o.listen) out['server.listen'] = o.listen;
  if (o.dataDir) out.data_dir = o.dataDir;
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program.name('sluice').description('Collect, parse, scan, alert on, stream and forward logs.').version(VERSION, '--version').exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let exitCode = 0;

  program
    .command('run')
    .description('start the daemon (config: -c FILE, else ./sluice.toml, else the embedded default)')
    .option('-c, --config <file>', 'configuration file (TOML)')
    .option('--listen <host:port>', 'override server.listen')
    .option('--data-dir <dir>', 'override data_dir')
    .action(async (o: { config?: string; listen?: string; dataDir?: string }) => {
      exitCode = await runDaemon(o.config, overridesFrom(o));
    });

  program
    .command('check')
    .description('validate a configuration; print every problem with its key path')
    .option('-c, --config <file>', 'configuration file (TOML)')
    .action(async (o: { config?: string }) => {
      const r = loadConfig({ file: o.config });
      if (r.ok) {
        process.stdout.write(`ok: ${r.file ?? '(embedded default)'} (${r.config.sources.length} sources, ${r.config.streams.length} streams)\n`);
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        // valid, but what the machine shows will fail (a Docker socket absent, a port taken): warnings, exit 0
        for (const w of await preflight(r.config)) process.stderr.write(`warning: ${w}\n`);
        exitCode = 0;
      } else {
        for (const p of r.problems) process.stdout.write(`${p}\n`);
        process.stderr.write(`${r.summary}\n`);
        exitCode = 1;
      }
    });

  program
    .command('tail')
    .description("follow a Sluice's live stream (SSE), resuming after disconnects")
    .argument('[url]', 'base URL of a Sluice, e.g. http://127.0.0.1:8080 or 127.0.0.1:8080 (default: server.listen of the configuration)')
    .option('-c, --config <file>', 'configuration whose data_dir holds the admin token and whose server.listen is the default URL (default: ./sluice.toml)')
    .option('--stream <name>', 'one stream (default: all streams)')
    .option('--filter <text>', 'only records whose message contains this text (case-insensitive substring)')
    .option('--level <list>', 'only these levels, e.g. warn,error')
    .option('--since <seq>', 'start after this seq (default: live)')
    .option('--token <token>', 'bearer token (visible in ps; default: env SLUICE_TOKEN, else the admin token of the configuration or <data_dir>/admin_token)')
    .option('--json', 'print records as JSON lines')
    .option('--max-retries <n>', 'give up after n failed reconnects in a row (default: never); 401, 403 and 404 end at once')
    .action(async (url: string | undefined, o: ClientFlags & { stream?: string; filter?: string; level?: string; since?: string; json?: boolean }) => {
      const since = o.since !== undefined ? count(o.since, '--since') : undefined;
      const maxRetries = o.maxRetries !== undefined ? count(o.maxRetries, '--max-retries') : Infinity;
      const target = clientTarget('tail', url, o);
      if (since === null || maxRetries === null || typeof target === 'number') {
        exitCode = typeof target === 'number' ? target : EXIT.USAGE;
        return;
      }
      exitCode = await runTail({ target, stream: o.stream, filter: o.filter, level: o.level, since, json: !!o.json, maxRetries });
    });

  program
    .command('status')
    .description('a summary of a running Sluice: sources (state, rate, backlog, last error), streams, drops, sinks, recent errors')
    .argument('[url]', 'base URL of a Sluice (default: server.listen of the configuration, else 127.0.0.1:8080)')
    .option('-c, --config <file>', 'configuration whose data_dir holds the admin token and whose server.listen is the default URL (default: ./sluice.toml)')
    .option('--token <token>', 'bearer token (visible in ps; default: env SLUICE_TOKEN, else the admin token of the configuration or <data_dir>/admin_token)')
    .option('--json', 'print /api/status as the daemon answers it')
    .option('--max-retries <n>', 'retry a refused connection or a 5xx up to n times (default: 0)')
    .action(async (url: string | undefined, o: ClientFlags & { json?: boolean }) => {
      const maxRetries = o.maxRetries !== undefined ? count(o.maxRetries, '--max-retries') : 0;
      const target = clientTarget('status', url, o);
      if (maxRetries === null || typeof target === 'number') {
        exitCode = typeof target === 'number' ? target : EXIT.USAGE;
        return;
      }
      exitCode = await runStatus({ target, json: !!o.json, maxRetries });
    });

  await registerExtraCommands(program, (c) => (exitCode = c));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.version' || err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return 0;
      return 2;
    }
    throw err;
  }
  return exitCode;
}

interface ClientFlags {
  config?: string;
  token?: string;
  maxRetries?: string;
}

/** A whole number >= 0 from a flag, or null after saying why (a usage error). */
function count(v: string, flag: string): number | null {
  if (/^\d{1,15}$/.test(v.trim())) return Number(v);
  process.stderr.write(`error: ${flag} expects a whole number, got "${v}"\n`);
  return null;
}

/** The URL and token of a client command, or its exit code after saying what is wrong. */
function clientTarget(command: string, url: string | undefined, o: ClientFlags): Target | number {
  try {
    return resolveTarget({ url, token: o.token, config: o.config });
  } catch (err) {
    if (err instanceof ClientError) return report(command, err);
    throw err;
  }
}

/** Commands owned by other areas (rules) hook in here. */
async function registerExtraCommands(program: Command, setExit: (c: number) => void): Promise<void> {
  const { registerRulesCommand } = await import('./rules-command.js');
  registerRulesCommand(program, setExit);
}

async function runDaemon(file: string | undefined, overrides: Record<string, unknown>): Promise<number> {
  // Old space is collected once it is 1.5x its live size after the last full GC. V8's own factor
  // goes up to 4x when collections are cheap, and with 10,000 live clients each write to one that
  // lags outlives the young generation: old space grew from ~60 to ~250 MB before each full GC
  // (RSS 404-500 MB at the end of the bench's fan-out window, 279-284 MB with this; figures in
  // docs/operations.md, "Fan-out"). V8 reads it at each full GC, so it may be set once running.
  setFlagsFromString('--heap-growing-percent=50');
  // bin/sluice.js gives the main thread's old space a 128 MiB floor (see there); the worker threads
  // (parse, UDP) keep V8's default: a worker's heap is configured from the flags as they are when it starts.
  setFlagsFromString('--initial-old-space-size=0');
  const load = () => loadConfig({ file, overrides, overrideFlags: OVERRIDE_FLAGS });
  const r = load();
  if (!r.ok) {
    for (const p of r.problems) process.stderr.write(`${p}\n`);
    process.stderr.write(`SLUICE_ERR_CONFIG_INVALID: ${r.summary}\n`);
    return 1;
  }
  // from here on the daemon's own log (core/log.ts); a fatal error stays one plain `CODE: message` line
  const log = createLog({ level: r.config.log.level, format: r.config.log.format });
  for (const n of r.notes) log.info(`config: ${n}`);
  for (const w of r.warnings) log.warn(`config: ${w}`);
  const daemon = new Daemon(r.config, { configFile: r.file, loadAgain: load, log });
  // SIGHUP's default action ends the process: take it from the start. Once running it reloads; during
  // start-up (the API already answers, and a source may already have read its first lines) it reloads
  // as soon as the start is done: the file may have changed after the start read it.
  let running = false;
  let hupPending = false;
  process.on('SIGHUP', () => {
    if (running) void daemon.reload();
    else if (!hupPending) {
      hupPending = true;
      log.info('SIGHUP during start-up: reloading once started');
    }
  });
  // SIGTERM and SIGINT are taken from the start too (their default action kills the process,
  // and the API answers before the sources have started): one during start-up stops the
  // daemon as soon as it is up.
  let stopAsked: string | undefined;
  let onStop: ((sig: string) => void) | undefined;
  const ask = (sig: string): void => {
    if (onStop !== undefined) onStop(sig);
    else if (stopAsked === undefined) {
      stopAsked = sig;
      log.info(`${sig} during start-up: stopping once started`);
    }
  };
  process.once('SIGTERM', () => ask('SIGTERM'));
  process.once('SIGINT', () => ask('SIGINT'));
  try {
    await daemon.start();
    running = true;
    if (hupPending && stopAsked === undefined) void daemon.reload();
  } catch (err) {
    // Every known start-up failure is a SluiceError with its own code (main.ts); anything else is a bug.
    const code = err instanceof SluiceError ? err.code : E.INTERNAL.code;
    process.stderr.write(`${code}: ${oneLine((err as Error).message ?? String(err))}\n`);
    await daemon.stop().catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolve) => {
    const shutdown = (sig: string) => {
      log.info(`${sig}: shutting down`);
      // the running config: a reload may have changed the deadline
      const ms = daemon.config().limits.shutdown_timeout;
      const deadline = setTimeout(() => {
        process.stderr.write(`SLUICE_ERR_INTERNAL_ERROR: shutdown did not finish within ${ms} ms\n`);
        resolve(1);
      }, ms);
      deadline.unref();
      daemon.stop().then(
        () => {
          clearTimeout(deadline);
          resolve(0);
        },
        (err: Error) => {
          process.stderr.write(`SLUICE_ERR_INTERNAL_ERROR: ${err.message}\n`);
          resolve(1);
        },
      );
    };
    let stopping = false;
    onStop = (sig) => {
      if (stopping) return;
      stopping = true;
      shutdown(sig);
    };
    if (stopAsked !== undefined) onStop(stopAsked);
  });
}
