/**
 * What the ledger tests share: a ledger on an in-memory database with a clock the test moves,
 * recognisable keys and tokens, and plain reads of the tables, so that assertions look at the rows
 * PROTOCOL.md describes rather than at what the ledger chooses to report.
 */
import Database from 'better-sqlite3';
import { Ledger } from '../../src/ledger/index.ts';
import {
  fixedBytes,
  genIndexHash,
  toHex,
  type PaymentToken,
  type PublicKey,
} from '../../src/protocol/index.ts';

/** One day, as PROTOCOL.md defines it. */
export const D = 86_400;

/** A UTC midnight to start the stories at (2024-10-04T00:00:00Z). */
export const M0 = 20_000 * D;

/** One hour, to stand somewhere inside a day. */
export const H = 3_600;

export interface TestLedger {
  ledger: Ledger;
  /** Moves the ledger's clock. */
  at(unixTsS: number): void;
}

export function memoryLedger(start = M0 + H): TestLedger {
  let now = start;
  const ledger = new Ledger(new Database(':memory:'), () => now);
  return {
    ledger,
    at(unixTsS: number) {
      now = unixTsS;
    },
  };
}

/** Master key number `n`: the ledger stores master keys without checking the curve. */
export function masterKey(n: number): PublicKey {
  const key = new Uint8Array(32).fill(0xaa);
  new DataView(key.buffer).setUint32(0, n);
  return fixedBytes(key, 32);
}

/** Payment token number `n`, different from every master key. */
export function paymentToken(n: number): PaymentToken {
  const token = new Uint8Array(32).fill(0x77);
  new DataView(token.buffer).setUint32(0, n);
  return fixedBytes(token, 32);
}

export interface PaymentRow {
  master: string;
  token: string;
  duration_s: number;
  creation: number;
  activation: number | null;
}

/** The payments table as it is, oldest row first. */
export function paymentRows(ledger: Ledger): PaymentRow[] {
  const rows = ledger.db
    .prepare(
      `SELECT master_pkey, payment_token, duration_s, creation_unix_ts_s, activation_unix_ts_s
       FROM payments ORDER BY id`,
    )
    .all() as {
    master_pkey: Buffer;
    payment_token: Buffer;
    duration_s: number;
    creation_unix_ts_s: number;
    activation_unix_ts_s: number | null;
  }[];
  return rows.map((r) => ({
    master: toHex(r.master_pkey),
    token: toHex(r.payment_token),
    duration_s: r.duration_s,
    creation: r.creation_unix_ts_s,
    activation: r.activation_unix_ts_s,
  }));
}

/** The expected shape of one payments row, from the test's own numbers. */
export function payment(
  master: PublicKey,
  token: PaymentToken,
  days: number,
  creation: number,
  activation: number | null,
): PaymentRow {
  return { master: toHex(master), token: toHex(token), duration_s: days * D, creation, activation };
}

/** The unredeemed (witnessed) payments as `[token hex, duration_s]`, by token. */
export function unredeemedRows(ledger: Ledger): [string, number][] {
  const rows = ledger.db
    .prepare('SELECT payment_token, duration_s FROM unredeemed_payments ORDER BY payment_token')
    .all() as { payment_token: Buffer; duration_s: number }[];
  return rows.map((r) => [toHex(r.payment_token), r.duration_s]);
}

/** The subscribers table as `[master hex, gen index, expiry]`, by gen index. */
export function subscriberRows(ledger: Ledger): [string, number, number][] {
  const rows = ledger.db
    .prepare('SELECT master_pkey, gen_index, expiry_unix_ts_s FROM subscribers ORDER BY gen_index')
    .all() as { master_pkey: Buffer; gen_index: number; expiry_unix_ts_s: number }[];
  return rows.map((r) => [toHex(r.master_pkey), r.gen_index, r.expiry_unix_ts_s]);
}

/** The revocations table as `[gen index, expiry]`, by gen index. */
export function revocationRows(ledger: Ledger): [number, number][] {
  const rows = ledger.db
    .prepare('SELECT gen_index, expiry_unix_ts_s FROM revocations ORDER BY gen_index')
    .all() as { gen_index: number; expiry_unix_ts_s: number }[];
  return rows.map((r) => [r.gen_index, r.expiry_unix_ts_s]);
}

/** The runtime row's counters. */
export function runtimeRow(ledger: Ledger): {
  next_gen_index: number;
  ticket: number;
  last_prune_unix_ts_s: number;
} {
  return ledger.db
    .prepare('SELECT next_gen_index, ticket, last_prune_unix_ts_s FROM runtime WHERE id = 0')
    .get() as { next_gen_index: number; ticket: number; last_prune_unix_ts_s: number };
}

export interface Tables {
  unredeemed: [string, number][];
  payments: PaymentRow[];
  subscribers: [string, number, number][];
  revocations: [number, number][];
  runtime: ReturnType<typeof runtimeRow>;
}

/** Every table's content, to show that an operation changed nothing at all. */
export function everything(ledger: Ledger): Tables {
  return {
    unredeemed: unredeemedRows(ledger),
    payments: paymentRows(ledger),
    subscribers: subscriberRows(ledger),
    revocations: revocationRows(ledger),
    runtime: runtimeRow(ledger),
  };
}

/** Writes a revocation straight into the table, as a row the ledger did not make itself. */
export function insertRevocation(ledger: Ledger, genIndex: number, expiry: number): void {
  ledger.db
    .prepare('INSERT INTO revocations (gen_index, gen_index_hash, expiry_unix_ts_s) VALUES (?,?,?)')
    .run(genIndex, genIndexHash(genIndex, ledger.salt), expiry);
}

/** Witnesses a payment and redeems it for `master` at the ledger's current time. */
export function buy(ledger: Ledger, master: PublicKey, token: PaymentToken, days: number) {
  ledger.witness(token, days);
  return ledger.redeem(master, token);
}
