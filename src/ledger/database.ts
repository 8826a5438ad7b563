/** Opening the shared SQLite file with the settings every process must agree on. */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export interface DatabaseLocation {
  /** A file path, or an SQLite URI when `isUri` is set. */
  path: string;
  isUri: boolean;
}

/** How long a writer waits for another process's write lock before giving up. */
export const BUSY_TIMEOUT_MS = 15_000;

/** True when the database lives in one process's memory and so cannot be shared. */
export function isInMemory(location: DatabaseLocation): boolean {
  if (location.path === ':memory:' || location.path === '') return true;
  return location.isUri && (location.path.includes(':memory:') || /[?&]mode=memory\b/.test(location.path));
}

export function openDatabase(location: DatabaseLocation): Database.Database {
  if (!location.isUri && !isInMemory(location)) {
    mkdirSync(dirname(location.path), { recursive: true });
    // Created by us, readable by the owner only: the file holds the backend's secret key.
    closeSync(openSync(location.path, 'a', 0o600));
  }
  const db = new Database(location.path, { timeout: BUSY_TIMEOUT_MS });
  if (!isInMemory(location)) db.pragma('journal_mode = WAL');
  // An acknowledged redemption must survive power loss.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  return db;
}
