/**
 * The operator's command line. Commands open the same database file as the server (SQLite's
 * locking lets them run while it serves) and print one clear line on failure, exiting non-zero.
 *
 *   witness <token-hex> <days>   record a witnessed payment
 *   refund <token-hex>           revoke a payment by its token
 *   info [--json]                the start-up figures
 *   --print-tables               every table, readable
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type Database from 'better-sqlite3';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { messageOf } from './error-message.ts';
import {
  Ledger,
  MAX_DURATION_DAYS,
  openDatabase,
  resolveLocation,
} from './ledger/index.ts';
import { collectFigures, renderFigures } from './operator/figures.ts';
import { writeAllTables } from './operator/tables.ts';
import { fromHex, toHex } from './protocol/index.ts';

/** How the README runs the CLI; the package's bin names itself instead. */
export const NPM_PROGRAM = 'npm run cli --';

export const usage = (program: string) => `Usage: ${program} <command>

Commands:
  witness <token-hex> <days>   record a witnessed payment: 64 hex characters (the BLAKE2b hash of
                               the store's payment token) lasting 1 to ${MAX_DURATION_DAYS} days
  refund <token-hex>           refund a payment: an unredeemed token is removed; a redeemed one is
                               deleted and its subscriber's proofs are revoked
  info [--json]                database figures and the backend's public keys
  --print-tables               print every table of the database
  help                         this text

The database is the one the server uses: SESH_PRO_BACKEND_DB_PATH (default ./backend.db). Only
witness creates it when it is missing, and says so.`;

/** A mistake in how the command was called or configured: shown with a hint, exit status 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

/** This CLI's flags, with an example of each given as npm needs it. */
const FLAG_EXAMPLES = { json: 'info --json', print_tables: '--print-tables' } as const;

/**
 * `npm run cli info --json` keeps --json for npm (as npm_config_json) and runs `info` without
 * it: the text would come where JSON was asked for. Such a run is refused instead.
 */
function refuseFlagsNpmKept(env: NodeJS.ProcessEnv): void {
  if (env.npm_lifecycle_event !== 'cli') return;
  for (const [name, example] of Object.entries(FLAG_EXAMPLES)) {
    if (env[`npm_config_${name}`] === undefined) continue;
    const flag = `--${name.replace('_', '-')}`;
    throw new UsageError(
      `npm kept ${flag} for itself; put -- before the arguments: ${NPM_PROGRAM} ${example}`,
    );
  }
}

/**
 * What a command does to the database: `look` only reads it (and so neither migrates it nor waits
 * for a writer), `change` writes to an existing one, `create` may also make it. Only witness
 * creates (a store integration can witness before the server's first start), and then says so:
 * a mistyped SESH_PRO_BACKEND_DB_PATH would otherwise read or write a stray database with a
 * backend key of its own.
 */
type Use = 'look' | 'change' | 'create';

function openLedger(config: Config, use: 'look' | 'change'): Ledger;
function openLedger(config: Config, use: 'create', err: Out): Ledger;
function openLedger(config: Config, use: Use, err?: Out): Ledger {
  const target = resolveLocation(config.db);
  if (target.inMemory) {
    throw new UsageError('an in-memory database belongs to one process; point the CLI at a file');
  }
  // An absolute path as given: `..` after a symlink is the kernel's to follow, not resolve()'s.
  const where = isAbsolute(target.filename) ? target.filename : resolve(target.filename);
  const isNew = !existsSync(target.filename);
  if (isNew && use !== 'create') {
    throw new UsageError(
      `no database at ${where}; set SESH_PRO_BACKEND_DB_PATH to the server's database ` +
        '(the server creates one on its first start)',
    );
  }
  const access = use === 'look' ? 'read-only' : 'read-write';
  let db: Database.Database | undefined;
  try {
    db = openDatabase(config.db, access);
    const ledger = new Ledger(db, undefined, access);
    if (isNew) err?.(`note: created a new database at ${where}`);
    return ledger;
  } catch (error) {
    db?.close();
    const reason = messageOf(error);
    // There but not usable (another program's file, a newer schema, locked): exit status 1.
    throw new Error(`cannot open ${where}: ${reason}`);
  }
}

function parseDays(text: string | undefined): number {
  const days = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(days >= 1 && days <= MAX_DURATION_DAYS)) {
    throw new UsageError(
      `days must be a whole number from 1 to ${MAX_DURATION_DAYS}, got "${text ?? ''}"`,
    );
  }
  return days;
}

/** The token is named by its flaw, never echoed: it stands for a confidential store token. */
function parseToken(text = '') {
  if (/^0x/i.test(text)) {
    throw new UsageError('a payment token must be 64 hex characters, without a 0x prefix');
  }
  if (!/^[0-9a-fA-F]*$/.test(text)) {
    throw new UsageError('a payment token must be 64 hex characters, and has other characters');
  }
  if (text.length !== 64) {
    throw new UsageError(`a payment token must be 64 hex characters, got ${text.length}`);
  }
  return fromHex(text, 32, 'payment token');
}

type Out = (line: string) => void;

/**
 * How output names a token: its first 8 hex characters. Whoever holds a witnessed token's hash
 * can redeem it, so the whole hash stays out of terminals and the logs that capture them.
 */
function tokenLabel(token: Uint8Array): string {
  return `${toHex(token).slice(0, 8)}…`;
}

function witness(config: Config, args: string[], out: Out, err: Out): void {
  if (args.length !== 2) throw new UsageError('witness takes <token-hex> <days>');
  const token = parseToken(args[0]);
  const days = parseDays(args[1]);
  const ledger = openLedger(config, 'create', err);
  try {
    ledger.witness(token, days);
  } finally {
    ledger.close();
  }
  out(`witnessed payment ${tokenLabel(token)} for ${days} ${days === 1 ? 'day' : 'days'}`);
}

function refund(config: Config, args: string[], out: Out): void {
  if (args.length !== 1) throw new UsageError('refund takes <token-hex>');
  const token = parseToken(args[0]);
  const ledger = openLedger(config, 'change');
  try {
    const outcome = ledger.refund(token);
    if (outcome.kind === 'unredeemed') {
      out(`removed unredeemed payment ${tokenLabel(token)}`);
    } else if (outcome.kind === 'subscriber_removed') {
      const label = tokenLabel(token);
      out(`refunded ${label}: it was the subscriber's only payment; subscriber removed`);
    } else {
      const e = outcome.entitlement;
      out(
        `refunded ${tokenLabel(token)}: subscriber re-keyed to gen index ${e.genIndex}, ` +
          `expiry ${new Date(e.expiryUnixTsS * 1000).toISOString()}`,
      );
    }
  } finally {
    ledger.close();
  }
}

function info(config: Config, args: string[], out: Out): void {
  const json = args.length === 1 && args[0] === '--json';
  if (args.length > 0 && !json) throw new UsageError('info takes nothing or --json');
  const ledger = openLedger(config, 'look');
  try {
    const figures = collectFigures(ledger, config);
    out(json ? JSON.stringify(figures, null, 2) : renderFigures(figures));
  } finally {
    ledger.close();
  }
}

function printTables(config: Config, out: Out): void {
  const ledger = openLedger(config, 'look');
  try {
    writeAllTables(ledger.db, out);
  } finally {
    ledger.close();
  }
}

/**
 * Runs one command; returns the exit status. The command comes first and takes exactly its own
 * arguments: a flag elsewhere on the line is refused, never silently applied or dropped.
 */
export function runCli(
  argv: string[],
  env = process.env,
  out: Out = console.log,
  err: Out = console.error,
  program = NPM_PROGRAM,
): number {
  try {
    refuseFlagsNpmKept(env);
    const [command, ...rest] = argv;
    if (command === 'help' || command === '--help' || command === '-h') {
      if (rest.length > 0) throw new UsageError(`${command} takes nothing else`);
      out(usage(program));
      return 0;
    }
    const config = loadConfig(env);
    switch (command) {
      case 'witness':
        witness(config, rest, out, err);
        return 0;
      case 'refund':
        refund(config, rest, out);
        return 0;
      case 'info':
        info(config, rest, out);
        return 0;
      case '--print-tables':
        if (rest.length > 0) throw new UsageError('--print-tables takes nothing else');
        printTables(config, out);
        return 0;
      case undefined:
        // SESH_PRO_BACKEND_PRINT_TABLES=1 stands for the flag only when no command is given.
        if (config.printTables) {
          printTables(config, out);
          return 0;
        }
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err(`error: ${error.message} (see: ${program} help)`);
      return 2;
    }
    // A bad variable is the caller's mistake (2); a refusal or a database that cannot be used, 1.
    err(`error: ${messageOf(error)}`);
    return error instanceof ConfigError ? 2 : 1;
  }
}

/** Run as a program: a reader that stops early (`| head`) ends the output, not in a crash. */
export function main(argv: string[], program = NPM_PROGRAM): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  process.exitCode = runCli(argv, process.env, console.log, console.error, program);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2));
}
