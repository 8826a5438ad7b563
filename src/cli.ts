/**
 * The operator's command line. Commands open the same database file as the server (SQLite's
 * locking lets them run while it serves) and print one clear line on failure, exiting non-zero.
 *
 *   witness <token-hex> <days>   record a witnessed payment
 *   refund <token-hex>           revoke a payment by its token
 *   info [--json]                the start-up figures
 *   --print-tables               every table, readable
 */
import { ConfigError, loadConfig, type Config } from './config.ts';
import { isInMemory, Ledger, LedgerError, openDatabase } from './ledger/index.ts';
import { collectFigures, renderFigures } from './operator/figures.ts';
import { renderAllTables } from './operator/tables.ts';
import { ByteLengthError, fromHex, toHex } from './protocol/index.ts';

export const USAGE = `Usage: npm run cli -- <command>

Commands:
  witness <token-hex> <days>   record a witnessed payment: 64 hex characters (the BLAKE2b hash of
                               the store's payment token) lasting a whole number of days > 0
  refund <token-hex>           refund a payment: an unredeemed token is removed; a redeemed one is
                               deleted and its subscriber's proofs are revoked
  info [--json]                database figures and the backend's public keys
  --print-tables               print every table of the database
  help                         this text

The database is the one the server uses: SESH_PRO_BACKEND_DB_PATH (default ./backend.db).`;

/** A mistake in how the command was called: shown with a hint, exit status 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

function openLedger(config: Config): Ledger {
  if (isInMemory(config.db)) {
    throw new UsageError('an in-memory database belongs to one process; point the CLI at a file');
  }
  return new Ledger(openDatabase(config.db));
}

function parseDays(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`days must be a whole number greater than 0, got "${text ?? ''}"`);
  }
  return Number(text);
}

function parseToken(text: string | undefined) {
  if (text === undefined || !/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new UsageError('a payment token must be 64 hex characters');
  }
  return fromHex(text, 32, 'payment token');
}

type Out = (line: string) => void;

function witness(config: Config, args: string[], out: Out): void {
  if (args.length !== 2) throw new UsageError('witness takes <token-hex> <days>');
  const token = parseToken(args[0]);
  const days = parseDays(args[1]);
  const ledger = openLedger(config);
  try {
    ledger.witness(token, days);
  } finally {
    ledger.close();
  }
  out(`witnessed payment ${toHex(token)} for ${days} ${days === 1 ? 'day' : 'days'}`);
}

function refund(config: Config, args: string[], out: Out): void {
  if (args.length !== 1) throw new UsageError('refund takes <token-hex>');
  const token = parseToken(args[0]);
  const ledger = openLedger(config);
  try {
    const outcome = ledger.refund(token);
    if (outcome.kind === 'unredeemed') {
      out(`removed unredeemed payment ${toHex(token)}`);
    } else if (outcome.kind === 'subscriber_removed') {
      out(`refunded ${toHex(token)}: it was the subscriber's only payment; subscriber removed`);
    } else {
      const e = outcome.entitlement;
      out(
        `refunded ${toHex(token)}: subscriber re-keyed to gen index ${e.genIndex}, ` +
          `expiry ${new Date(e.expiryUnixTsS * 1000).toISOString()}`,
      );
    }
  } finally {
    ledger.close();
  }
}

function info(config: Config, args: string[], out: Out): void {
  const json = args.includes('--json');
  if (args.some((a) => a !== '--json')) throw new UsageError('info takes only --json');
  const ledger = openLedger(config);
  try {
    const figures = collectFigures(ledger, config);
    out(json ? JSON.stringify(figures, null, 2) : renderFigures(figures));
  } finally {
    ledger.close();
  }
}

export function printTables(config: Config, out: Out): void {
  const ledger = openLedger(config);
  try {
    out(renderAllTables(ledger.db));
  } finally {
    ledger.close();
  }
}

const FLAGS = new Set(['--print-tables', '--json', '--help', '-h']);

/** Runs one command; returns the exit status. */
export function runCli(argv: string[], env = process.env, out: Out = console.log, err: Out = console.error): number {
  try {
    // Flags are few and fixed; everything else is positional, so "-1" reaches the day check.
    const flags = new Set(argv.filter((a) => FLAGS.has(a)));
    const [command, ...rest] = argv.filter((a) => !FLAGS.has(a));
    if (flags.has('--help') || flags.has('-h')) {
      out(USAGE);
      return 0;
    }
    const config = loadConfig(env);
    if (flags.has('--print-tables') || config.printTables) {
      printTables(config, out);
      return 0;
    }
    switch (command) {
      case 'witness':
        witness(config, rest, out);
        return 0;
      case 'refund':
        refund(config, rest, out);
        return 0;
      case 'info':
        info(config, flags.has('--json') ? [...rest, '--json'] : rest, out);
        return 0;
      case 'help':
        out(USAGE);
        return 0;
      case undefined:
        throw new UsageError('no command given');
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err(`error: ${error.message} (see: npm run cli -- help)`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof LedgerError || error instanceof ByteLengthError) {
      err(`error: ${error.message}`);
      return 1;
    }
    err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** Run as a program: a reader that stops early (`| head`) ends the output, not in a crash. */
export function main(argv: string[]): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  process.exitCode = runCli(argv);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
