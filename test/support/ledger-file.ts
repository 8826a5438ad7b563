/**
 * A ledger on a database file that a running server also uses: tests witness payments and read
 * rows through it while the server serves (SQLite's WAL lets the processes share the file).
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Ledger, openDatabase } from '../../src/ledger/index.ts';
import type { PaymentToken } from '../../src/protocol/index.ts';

/**
 * An SQLite file of another program's (one table, one row) at `path`. Other programs set
 * `user_version` too; 0, the default, is no schema version at all.
 */
export function writeForeignDatabase(path: string, userVersion = 0): void {
  const other = new Database(path);
  other.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')");
  other.pragma(`user_version = ${userVersion}`);
  other.close();
}

/** The message with which the ledger refuses such a file. */
export const FOREIGN_REFUSAL =
  'the database holds 1 table but no ledger schema: it is not a Session Pro backend database';

export function openLedgerFile(path: string): Ledger {
  return new Ledger(openDatabase({ path, isUri: false }));
}

/** Witnesses `count` fresh random tokens for `days` each (one commit for all) and returns them. */
export function witnessTokens(ledger: Ledger, count: number, days: number): PaymentToken[] {
  const witnessAll = ledger.db.transaction(() => {
    const tokens: PaymentToken[] = [];
    for (let i = 0; i < count; i++) {
      const token = randomBytes(32) as unknown as PaymentToken;
      ledger.witness(token, days);
      tokens.push(token);
    }
    return tokens;
  });
  return witnessAll.immediate();
}
