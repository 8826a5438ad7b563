/**
 * Configuration from the environment. Every variable has a default; a value that is set but not
 * allowed, or a name with our prefix that is not one of ours, stops start-up with a message
 * naming the variable.
 */
import { availableParallelism } from 'node:os';
import { DatabaseLocationError, resolveLocation, type DatabaseLocation } from './ledger/database.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  db: DatabaseLocation;
  printTables: boolean;
  host: string;
  port: number;
  logLevel: LogLevel;
  /** Worker processes the cluster primary forks. */
  workers: number;
  /** How long SIGINT/SIGTERM waits for requests in flight before exiting non-zero. */
  shutdownGraceMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const PREFIX = 'SESH_PRO_BACKEND_';

/** Every variable, without the prefix: one not listed is a misspelling, and is refused. */
const NAMES = [
  'DB_PATH',
  'DB_PATH_IS_URI',
  'PRINT_TABLES',
  'HOST',
  'PORT',
  'LOG_LEVEL',
  'WORKERS',
  'SHUTDOWN_GRACE_MS',
] as const;
type Name = (typeof NAMES)[number];

/**
 * A misspelled name would be ignored in silence, and its default used instead: for DB_PATH, a
 * new database with a backend key of its own.
 */
function refuseUnknownNames(env: Env): void {
  const known = new Set(NAMES.map((name) => PREFIX + name));
  const unknown = Object.keys(env).find((name) => name.startsWith(PREFIX) && !known.has(name));
  if (unknown !== undefined) {
    const names = [...known].join(', ');
    throw new ConfigError(`${unknown} is not a variable of this server; it reads ${names}`);
  }
}

function read(env: Env, name: Name): string | undefined {
  const value = env[PREFIX + name];
  return value === undefined || value === '' ? undefined : value;
}

function flag(env: Env, name: Name): boolean {
  const value = read(env, name);
  if (value === undefined || value === '0') return false;
  if (value === '1') return true;
  throw new ConfigError(`${PREFIX}${name} must be 0 or 1, got "${value}"`);
}

function integer(env: Env, name: Name, fallback: number, min: number, max: number): number {
  const value = read(env, name);
  if (value === undefined) return fallback;
  const parsed = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(`${PREFIX}${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

function logLevel(env: Env): LogLevel {
  const value = read(env, 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError(`${PREFIX}LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
  }
  return value as LogLevel;
}

function databaseLocation(env: Env): DatabaseLocation {
  const path = read(env, 'DB_PATH');
  const location = { path: path ?? './backend.db', isUri: flag(env, 'DB_PATH_IS_URI') };
  if (location.isUri && path === undefined) {
    throw new ConfigError(
      `${PREFIX}DB_PATH_IS_URI=1 needs ${PREFIX}DB_PATH set to a file: URI; it is unset`,
    );
  }
  // Read as a file name, a URI would name a new database (with a key of its own) in a folder
  // called "file:", and its mode=rw, "the file must exist", would go unseen.
  if (!location.isUri && location.path.startsWith('file:')) {
    throw new ConfigError(
      `${PREFIX}DB_PATH "${location.path}" is an SQLite URI: set ${PREFIX}DB_PATH_IS_URI=1 to open ` +
        'it as one (a file whose name starts with "file:" is ./file:...)',
    );
  }
  try {
    resolveLocation(location);
  } catch (error) {
    if (error instanceof DatabaseLocationError) {
      throw new ConfigError(`${PREFIX}DB_PATH: ${error.message}`);
    }
    throw error;
  }
  return location;
}

export function loadConfig(env: Env = process.env): Config {
  refuseUnknownNames(env);
  return {
    db: databaseLocation(env),
    printTables: flag(env, 'PRINT_TABLES'),
    host: read(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 8000, 0, 65_535),
    logLevel: logLevel(env),
    workers: integer(env, 'WORKERS', availableParallelism(), 1, 256),
    // 0 cuts off at once whatever is in flight; an idle server still stops cleanly.
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
  };
}
