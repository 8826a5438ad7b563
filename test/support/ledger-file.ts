/**
 * A ledger on a database file that a running server also uses: tests witness payments and read
 * rows through it while the server serves (SQLite's WAL lets the processes share the file).
 */
import { randomBytes } from 'node:crypto';
import { Ledger, openDatabase } from '../../src/ledger/index.ts';
import type { PaymentToken } from '../../src/protocol/index.ts';

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
