/** Opening the shared SQLite file with the settings every process must agree on. */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { refuseForeign } from './schema.ts';

export interface DatabaseLocation {
  /** A file path, or an SQLite URI when `isUri` is set. */
  path: string;
  isUri: boolean;
}

/** How a process uses the database: serving and operating, or only looking. */
export type Access = 'read-write' | 'read-only';

/** How long a writer waits for another process's write lock before giving up. */
export const BUSY_TIMEOUT_MS = 15_000;

export class DatabaseLocationError extends Error {
  override name = 'DatabaseLocationError';
}

/** Where SQLite is actually opened: a file (perhaps one that must already exist) or memory. */
interface ResolvedLocation {
  filename: string;
  inMemory: boolean;
  mustExist: boolean;
}

/**
 * Reads an SQLite URI (`file:path?mode=...`) into what better-sqlite3 can open: its SQLite is
 * built without URI support, so the URI forms the original service accepted are mapped here.
 * `cache=shared` is accepted and has no effect: each process holds one connection.
 */
export function resolveLocation(location: DatabaseLocation): ResolvedLocation {
  if (!location.isUri) {
    const inMemory = location.path === ':memory:' || location.path === '';
    return { filename: inMemory ? ':memory:' : location.path, inMemory, mustExist: false };
  }
  if (!location.path.startsWith('file:')) {
    throw new DatabaseLocationError(`database URI must start with "file:", got "${location.path}"`);
  }
  // As SQLite reads a URI: a fragment is dropped, and the authority may only be empty or localhost.
  const [rest = ''] = location.path.slice('file:'.length).split('#', 1);
  const [rawPath = '', query = ''] = rest.split('?', 2);
  const authority = rawPath.startsWith('//') ? rawPath.slice(2).split('/', 1)[0]! : '';
  if (authority !== '' && authority !== 'localhost') {
    throw new DatabaseLocationError(
      `database URI authority must be empty or localhost, got "${authority}" ` +
        '(an absolute path is file:/path or file:///path)',
    );
  }
  const params = new URLSearchParams(query);
  for (const key of params.keys()) {
    if (key !== 'mode' && key !== 'cache') {
      throw new DatabaseLocationError(`database URI parameter "${key}" is not supported`);
    }
  }
  const mode = params.get('mode') ?? 'rwc';
  if (!['rwc', 'rw', 'memory'].includes(mode)) {
    throw new DatabaseLocationError(`database URI mode must be rwc, rw or memory, got "${mode}"`);
  }
  // file:///abs/path and file://localhost/abs/path name the same file as file:/abs/path.
  const path = percentDecoded(rawPath.replace(/^\/\/(localhost)?(?=\/|$)/, ''));
  const inMemory = mode === 'memory' || path === ':memory:' || path === '';
  return { filename: inMemory ? ':memory:' : path, inMemory, mustExist: mode === 'rw' };
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new DatabaseLocationError(`database URI path has a malformed %-escape: "${text}"`);
  }
}

/** True when the database lives in one process's memory and so cannot be shared. */
export function isInMemory(location: DatabaseLocation): boolean {
  return resolveLocation(location).inMemory;
}

/**
 * Opens the database with the settings every process shares. 'read-only' opens an existing file
 * without creating or changing anything, for an operator's look while a server runs.
 */
export function openDatabase(
  location: DatabaseLocation,
  access: Access = 'read-write',
): Database.Database {
  const target = resolveLocation(location);
  // SQLite would say "disk I/O error" or the open would say EISDIR, depending on the access.
  if (!target.inMemory && statSync(target.filename, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error('it is a directory, not a database file');
  }
  if (access === 'read-only') {
    return new Database(target.filename, {
      readonly: true,
      fileMustExist: true,
      timeout: BUSY_TIMEOUT_MS,
    });
  }
  if (!target.inMemory && !target.mustExist) {
    makeFolders(dirname(target.filename));
    // Created by us, readable by the owner only: the file holds the backend's secret key.
    closeSync(openSync(target.filename, 'a', 0o600));
  }
  const db = new Database(target.filename, {
    timeout: BUSY_TIMEOUT_MS,
    fileMustExist: target.mustExist,
  });
  // Before the journal mode is set, which would already change another program's file.
  try {
    refuseForeign(db);
  } catch (error) {
    db.close();
    throw error;
  }
  if (!target.inMemory) {
    // A file made ready for the ledger by someone else (`touch`) is about to receive the key.
    if (isEmpty(db)) keepToOwner(target.filename);
    db.pragma('journal_mode = WAL');
  }
  // An acknowledged redemption must survive power loss.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * mkdirSync(dir, { recursive: true }), except that a folder that cannot be made is an error:
 * Node 20's own loops for ever on one under /proc.
 */
function makeFolders(dir: string): void {
  if (statSync(dir, { throwIfNoEntry: false }) !== undefined) return;
  const parent = dirname(dir);
  if (parent !== dir) makeFolders(parent);
  try {
    mkdirSync(dir);
  } catch (error) {
    // Another process (the CLI, a starting server) may have made it meanwhile.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function isEmpty(db: Database.Database): boolean {
  return db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get() === 0;
}

/** Takes the group's and others' access away from a file that is to hold the secret key. */
function keepToOwner(filename: string): void {
  const { mode } = statSync(filename);
  if ((mode & 0o077) !== 0) chmodSync(filename, mode & 0o700);
}
