/** The figures start-up and `info` print: what database this is and what it holds. */
import { statSync } from 'node:fs';
import type { Config } from '../config.ts';
import { resolveLocation, type Ledger } from '../ledger/index.ts';
import { onionKeyPairFromSeed } from '../onion/keys.ts';
import { toHex } from '../protocol/index.ts';

export interface Figures {
  db_path: string;
  db_size_bytes: number | null;
  backend_pkey: string;
  backend_x25519_pkey: string;
  ticket: number;
  next_gen_index: number;
  subscribers: number;
  payments: number;
  unredeemed_payments: number;
  redeemed_tokens: number;
  revocations: number;
  last_prune_unix_ts_s: number;
}

function databaseSize(config: Config): number | null {
  const target = resolveLocation(config.db);
  if (target.inMemory) return null;
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(target.filename + suffix).size;
    } catch {
      // No WAL file yet: nothing to add.
    }
  }
  return total;
}

export function collectFigures(ledger: Ledger, config: Config): Figures {
  const stats = ledger.stats();
  return {
    db_path: config.db.path,
    db_size_bytes: databaseSize(config),
    backend_pkey: toHex(ledger.backendKey.publicKey),
    backend_x25519_pkey: toHex(onionKeyPairFromSeed(ledger.backendKey.exportSeed()).publicKey),
    ticket: stats.ticket,
    next_gen_index: stats.nextGenIndex,
    subscribers: stats.subscribers,
    payments: stats.payments,
    unredeemed_payments: stats.unredeemedPayments,
    redeemed_tokens: stats.redeemedTokens,
    revocations: stats.revocations,
    last_prune_unix_ts_s: stats.lastPruneUnixTsS,
  };
}

export function renderFigures(f: Figures): string {
  const size = f.db_size_bytes === null ? 'in memory' : `${f.db_size_bytes} bytes`;
  const lastPrune =
    f.last_prune_unix_ts_s === 0 ? 'never' : new Date(f.last_prune_unix_ts_s * 1000).toISOString();
  return [
    `Database:              ${f.db_path} (${size})`,
    `Subscribers:           ${f.subscribers}`,
    `Revocations:           ${f.revocations} (ticket ${f.ticket})`,
    `Redeemed payments:     ${f.payments}`,
    `Unredeemed payments:   ${f.unredeemed_payments}`,
    `Tokens ever redeemed:  ${f.redeemed_tokens}`,
    `Next gen index:        ${f.next_gen_index}`,
    `Last prune:            ${lastPrune}`,
    `Backend public key:    ${f.backend_pkey}`,
    `Onion X25519 key:      ${f.backend_x25519_pkey}`,
  ].join('\n');
}
