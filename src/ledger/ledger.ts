/**
 * The ledger: witnessed payments, redemptions, subscribers, revocations and the daily prune, as
 * PROTOCOL.md's Ledger section states them. Every change that takes more than one statement runs
 * in one transaction that takes SQLite's write lock up front (BEGIN IMMEDIATE), so concurrent
 * processes on the same file serialize instead of failing half way.
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  BackendKey,
  fixedBytes,
  genIndexHash,
  type Hash32,
  type PaymentToken,
  type PublicKey,
  type Salt,
} from '../protocol/index.ts';
import { DAY_S, dayCeil, latestMidnight, systemClock, type Clock } from './clock.ts';
import type { Access } from './database.ts';
import { migrate, requireCurrentSchema, SchemaError } from './schema.ts';
import { prepareStatements, type Statements } from './statements.ts';

export type LedgerErrorCode =
  | 'token_unknown'
  | 'token_redeemed'
  | 'token_ended'
  | 'token_witnessed'
  | 'no_subscription'
  | 'bad_duration';

/** A refusal the caller can show as is: the message names what was wrong. */
export class LedgerError extends Error {
  override name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A refund of a token whose payment is gone: the prune or an earlier refund deleted it. */
function tokenEnded(): LedgerError {
  return new LedgerError(
    'token_ended',
    'payment token was redeemed, but its payment has already ended or been refunded',
  );
}

export interface Entitlement {
  genIndex: number;
  genIndexHash: Hash32;
  expiryUnixTsS: number;
}

export type RefundOutcome =
  | { kind: 'unredeemed' }
  | { kind: 'rekeyed'; masterPkey: PublicKey; entitlement: Entitlement }
  | { kind: 'subscriber_removed'; masterPkey: PublicKey };

export interface RevocationEntry {
  genIndexHash: Uint8Array;
  expiryUnixTsS: number;
}

export interface RevocationSnapshot {
  ticket: number;
  list: RevocationEntry[];
}

export interface PruneReport {
  midnight: number;
  paymentsDeleted: number;
  handOvers: number;
  subscribersDeleted: number;
  revocationsDeleted: number;
}

export type PruneOutcome =
  | { kind: 'pruned'; report: PruneReport }
  | { kind: 'already_done'; midnight: number }
  /** Another process holds the claim until `claimedUntil`; it may have died meanwhile. */
  | { kind: 'claimed_elsewhere'; midnight: number; claimedUntil: number };

export interface LedgerStats {
  subscribers: number;
  revocations: number;
  payments: number;
  unredeemedPayments: number;
  /** Every token ever redeemed, including those whose payment has ended or been refunded. */
  redeemedTokens: number;
  nextGenIndex: number;
  ticket: number;
  lastPruneUnixTsS: number;
}

/** Longest a witnessed payment may last: a hundred years keeps every expiry a safe integer. */
export const MAX_DURATION_DAYS = 36_500;

/** Rows handled per prune transaction, so redemptions on other processes wait milliseconds. */
export const PRUNE_BATCH = 2_000;

/**
 * How long a prune claim keeps other processes away before it counts as abandoned. The claimant
 * renews it after each full batch, so it need only outlast the few batches between renewals and
 * their waits for the write lock (BUSY_TIMEOUT_MS each); a process restarted after dying mid-prune
 * waits this long to take over.
 */
export const PRUNE_CLAIM_S = 120;

/** What a claim on a midnight's prune got: it, nothing (done), or another process's lease. */
type PruneClaim = 'claimed' | 'already_done' | { until: number };

interface RuntimeRow {
  next_gen_index: number;
  salt: Buffer;
  backend_seed: Buffer;
  last_prune_unix_ts_s: number;
  ticket: number;
  prune_claim_unix_ts_s: number;
  prune_claim_until_ts_s: number;
}

export class Ledger {
  readonly db: Database.Database;
  readonly clock: Clock;
  readonly salt: Salt;
  readonly backendKey: BackendKey;
  readonly #sql: Statements;
  /**
   * The transaction of every /add_payment, wrapped once: better-sqlite3 builds four wrapper
   * functions for each db.transaction() call, which cost more than running one.
   */
  readonly #redeemImmediate: (masterPkey: PublicKey, token: PaymentToken) => Entitlement;

  /**
   * Migrates the schema, creates the runtime row on first use (fresh salt and backend key) and
   * prepares every statement once. With `access` 'read-only' (for an operator's look at a
   * database a server may be using) it writes nothing: the schema must be current and the
   * runtime row there.
   */
  constructor(
    db: Database.Database,
    clock: Clock = systemClock,
    access: Access = 'read-write',
  ) {
    this.db = db;
    this.clock = clock;
    if (access === 'read-write') migrate(db);
    else requireCurrentSchema(db);
    this.#sql = prepareStatements(db);
    const runtime = access === 'read-write' ? this.#ensureRuntime() : this.#existingRuntime();
    this.salt = fixedBytes(new Uint8Array(runtime.salt), 16);
    this.backendKey = new BackendKey(fixedBytes(new Uint8Array(runtime.backend_seed), 32));
    this.#redeemImmediate = db.transaction((masterPkey: PublicKey, token: PaymentToken) =>
      this.#redeemInTransaction(masterPkey, token),
    ).immediate;
  }

  #ensureRuntime(): RuntimeRow {
    const create = this.db.transaction(() => {
      const existing = this.#sql.runtime.get() as RuntimeRow | undefined;
      if (existing) return existing;
      this.#sql.insertRuntime.run(randomBytes(16), BackendKey.generate().exportSeed());
      return this.#sql.runtime.get() as RuntimeRow;
    });
    return create.immediate();
  }

  #existingRuntime(): RuntimeRow {
    const row = this.#sql.runtime.get() as RuntimeRow | undefined;
    if (!row) {
      throw new SchemaError(
        'the database has no runtime row (the server creates it on its first start)',
      );
    }
    return row;
  }

  genIndexHash(genIndex: number): Hash32 {
    return genIndexHash(genIndex, this.salt);
  }

  /** Records a payment a store reported, to be redeemed later by its buyer. */
  witness(token: PaymentToken, durationDays: number): void {
    if (!Number.isInteger(durationDays) || durationDays < 1 || durationDays > MAX_DURATION_DAYS) {
      throw new LedgerError(
        'bad_duration',
        `duration must be a whole number of days from 1 to ${MAX_DURATION_DAYS}`,
      );
    }
    const run = this.db.transaction(() => {
      this.#refuseKnownToken(token);
      this.#sql.insertUnredeemed.run(token, durationDays * DAY_S, this.clock());
    });
    run.immediate();
  }

  #refuseKnownToken(token: PaymentToken): void {
    if (this.#sql.unredeemedByToken.get(token)) {
      throw new LedgerError('token_witnessed', 'payment token is already witnessed');
    }
    if (this.#sql.redeemedToken.get(token)) {
      throw new LedgerError('token_redeemed', 'payment token is already redeemed');
    }
  }

  /**
   * Redeems a witnessed payment for `masterPkey` and returns the subscriber's new entitlement.
   * Exactly one of many concurrent redemptions of a token succeeds: the token's row is consumed
   * under the write lock.
   */
  redeem(masterPkey: PublicKey, token: PaymentToken): Entitlement {
    return this.#redeemImmediate(masterPkey, token);
  }

  /** The body of redeem(), run under the write lock (BEGIN IMMEDIATE). */
  #redeemInTransaction(masterPkey: PublicKey, token: PaymentToken): Entitlement {
    const now = this.clock();
    const witnessed = this.#sql.unredeemedByToken.get(token) as { duration_s: number } | undefined;
    if (!witnessed) {
      if (this.#sql.redeemedToken.get(token)) {
        throw new LedgerError('token_redeemed', 'payment_token was already redeemed');
      }
      throw new LedgerError('token_unknown', 'payment_token was never witnessed');
    }
    this.#sql.deleteUnredeemed.run(token);
    this.#sql.insertRedeemedToken.run(token, now);
    this.#catchUpWithPrune(masterPkey, now);
    this.#sql.insertPayment.run(masterPkey, witnessed.duration_s, dayCeil(now), token);
    this.#activateIfNoneActive(masterPkey, dayCeil(now));
    this.#revokeCurrent(masterPkey);
    return this.#grantNewGenIndex(masterPkey);
  }

  /**
   * An operator revokes a payment by its token. An unredeemed token is removed; a redeemed one is
   * deleted and its subscriber re-keyed (or removed when no payment remains).
   */
  refund(token: PaymentToken): RefundOutcome {
    const run = this.db.transaction((): RefundOutcome => {
      if (this.#sql.deleteUnredeemed.run(token).changes === 1) return { kind: 'unredeemed' };

      const payment = this.#sql.paymentByToken.get(token) as
        | { id: number; master_pkey: Buffer }
        | undefined;
      if (!payment) {
        if (this.#sql.redeemedToken.get(token)) throw tokenEnded();
        throw new LedgerError('token_unknown', 'payment token is not known');
      }

      const masterPkey = fixedBytes(new Uint8Array(payment.master_pkey), 32);
      const now = this.clock();
      this.#catchUpWithPrune(masterPkey, now);
      if (this.#sql.deletePayment.run(payment.id).changes === 0) {
        // The payment ran out by the latest midnight, whose prune had not reached it yet. The
        // throw rolls the catch-up back too; the prune will do the same.
        throw tokenEnded();
      }
      this.#activateIfNoneActive(masterPkey, dayCeil(now));
      this.#revokeCurrent(masterPkey);

      if (this.#sql.paymentTotals.get(masterPkey) === undefined) {
        this.#sql.deleteSubscriber.run(masterPkey);
        return { kind: 'subscriber_removed', masterPkey };
      }
      return { kind: 'rekeyed', masterPkey, entitlement: this.#grantNewGenIndex(masterPkey) };
    });
    return run.immediate();
  }

  /**
   * Brings one subscriber to where the prune for the latest midnight leaves it: a payment that
   * ran out by then is deleted and the next takes over when it ran out, and a subscriber whose
   * expiry has passed is deleted. Redeem and refund start with it, because that prune runs after
   * midnight, in batches, and perhaps late (after downtime, or behind an abandoned claim); a
   * redemption meanwhile would otherwise stack behind a payment that already ran out and lose
   * the days between. Once the prune has been, it finds nothing to do.
   */
  #catchUpWithPrune(masterPkey: PublicKey, now: number): void {
    const midnight = latestMidnight(now);
    const active = this.#sql.activePayment.get(masterPkey) as
      | { id: number; activation: number; duration_s: number }
      | undefined;
    if (active && active.activation + active.duration_s <= midnight) {
      this.#runOut(active.id, masterPkey, active.activation + active.duration_s, midnight);
    }
    const subscriber = this.#sql.subscriber.get(masterPkey) as
      | { expiry_unix_ts_s: number }
      | undefined;
    if (subscriber && subscriber.expiry_unix_ts_s <= midnight) {
      this.#sql.deleteSubscriber.run(masterPkey);
    }
  }

  /** The earliest-created payment activates at `at` when the subscriber has none active. */
  #activateIfNoneActive(masterPkey: PublicKey, at: number): void {
    if (this.#sql.activePayment.get(masterPkey)) return;
    const next = this.#sql.earliestInactivePayment.get(masterPkey) as { id: number } | undefined;
    if (next) this.#sql.activatePayment.run(at, next.id);
  }

  /** The subscriber's current (gen index, expiry), if any, becomes a revocation. */
  #revokeCurrent(masterPkey: PublicKey): void {
    const current = this.#sql.subscriber.get(masterPkey) as
      | { gen_index: number; expiry_unix_ts_s: number }
      | undefined;
    if (!current) return;
    this.#sql.insertRevocation.run(
      current.gen_index,
      this.genIndexHash(current.gen_index),
      current.expiry_unix_ts_s,
    );
    this.#sql.bumpTicket.run();
  }

  /** expiry = activation of the active payment + all the subscriber's durations + one day. */
  #grantNewGenIndex(masterPkey: PublicKey): Entitlement {
    const totals = this.#sql.paymentTotals.get(masterPkey) as
      | { activation: number; total_s: number }
      | undefined;
    if (!totals) throw new Error('invariant: a subscriber with payments has an active one');
    const expiryUnixTsS = totals.activation + totals.total_s + DAY_S;
    const { gen_index: genIndex } = this.#sql.takeGenIndex.get() as { gen_index: number };
    this.#sql.upsertSubscriber.run(masterPkey, genIndex, expiryUnixTsS);
    return { genIndex, genIndexHash: this.genIndexHash(genIndex), expiryUnixTsS };
  }

  /** The subscriber's current entitlement, or undefined when there is no row. */
  subscriber(masterPkey: PublicKey): Entitlement | undefined {
    const row = this.#sql.subscriber.get(masterPkey) as
      | { gen_index: number; expiry_unix_ts_s: number }
      | undefined;
    if (!row) return undefined;
    return {
      genIndex: row.gen_index,
      genIndexHash: this.genIndexHash(row.gen_index),
      expiryUnixTsS: row.expiry_unix_ts_s,
    };
  }

  currentTicket(): number {
    return this.#sql.ticket.get() as number;
  }

  /** Every revocation, ascending by gen index, with the ticket they belong to (one snapshot). */
  revocations(): RevocationSnapshot {
    const read = this.db.transaction((): RevocationSnapshot => {
      const rows = this.#sql.allRevocations.all() as {
        gen_index_hash: Buffer;
        expiry_unix_ts_s: number;
      }[];
      return {
        ticket: this.currentTicket(),
        list: rows.map((r) => ({ genIndexHash: r.gen_index_hash, expiryUnixTsS: r.expiry_unix_ts_s })),
      };
    });
    return read.deferred();
  }

  stats(): LedgerStats {
    const read = this.db.transaction((): LedgerStats => {
      const counts = this.#sql.counts.get() as {
        subscribers: number;
        revocations: number;
        payments: number;
        unredeemed: number;
        redeemed_tokens: number;
      };
      const runtime = this.#sql.runtime.get() as RuntimeRow;
      return {
        subscribers: counts.subscribers,
        revocations: counts.revocations,
        payments: counts.payments,
        unredeemedPayments: counts.unredeemed,
        redeemedTokens: counts.redeemed_tokens,
        nextGenIndex: runtime.next_gen_index,
        ticket: runtime.ticket,
        lastPruneUnixTsS: runtime.last_prune_unix_ts_s,
      };
    });
    return read.deferred();
  }

  /**
   * The daily prune for the midnight `midnight`, run once across every process sharing the file.
   * A process first claims the midnight (a lease in the runtime row); the work then runs in short
   * transactions, each of which is safe to repeat, and the midnight is marked done at the end.
   * This runs every step at once; pruneSteps() lets the caller pause between them.
   */
  prune(midnight: number): PruneOutcome {
    const steps = this.pruneSteps(midnight);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  }

  /**
   * The prune as a generator that yields after each batch transaction, so that a long prune can
   * let other writers, and its own process's event loop, in between batches.
   */
  *pruneSteps(midnight: number): Generator<void, PruneOutcome, void> {
    const claim = this.#claimPrune(midnight);
    if (claim === 'already_done') return { kind: claim, midnight };
    if (claim !== 'claimed') {
      return { kind: 'claimed_elsewhere', midnight, claimedUntil: claim.until };
    }

    const report: PruneReport = {
      midnight,
      paymentsDeleted: 0,
      handOvers: 0,
      subscribersDeleted: 0,
      revocationsDeleted: 0,
    };
    while (this.#pruneEndedPayments(midnight, report)) {
      this.#renewPruneClaim(midnight);
      yield;
    }
    while (this.#pruneRows(this.#sql.deleteExpiredRevocations, midnight, report, 'revocations')) {
      this.#renewPruneClaim(midnight);
      yield;
    }
    while (this.#pruneRows(this.#sql.deleteExpiredSubscribers, midnight, report, 'subscribers')) {
      this.#renewPruneClaim(midnight);
      yield;
    }
    this.db.transaction(() => this.#sql.finishPrune.run(midnight)).immediate();
    return { kind: 'pruned', report };
  }

  #claimPrune(midnight: number): PruneClaim {
    const claim = this.db.transaction((): PruneClaim => {
      const runtime = this.#sql.runtime.get() as RuntimeRow;
      if (runtime.last_prune_unix_ts_s >= midnight) return 'already_done';
      const now = this.clock();
      if (runtime.prune_claim_unix_ts_s === midnight && runtime.prune_claim_until_ts_s > now) {
        return { until: runtime.prune_claim_until_ts_s };
      }
      this.#sql.claimPrune.run(midnight, now + PRUNE_CLAIM_S);
      return 'claimed';
    });
    return claim.immediate();
  }

  #renewPruneClaim(midnight: number): void {
    this.#sql.renewPruneClaim.run(this.clock() + PRUNE_CLAIM_S, midnight);
  }

  /**
   * Deletes up to a batch of active payments that ran out by `midnight`; each subscriber's next
   * payment activates when the previous one ran out. No gen index, expiry or revocation changes.
   * Returns whether there may be more to do.
   */
  #pruneEndedPayments(midnight: number, report: PruneReport): boolean {
    const batch = this.db.transaction((): number => {
      const ended = this.#sql.endedPayments.all(midnight, PRUNE_BATCH) as {
        id: number;
        master_pkey: Buffer;
        ended_at: number;
      }[];
      for (const payment of ended) {
        this.#runOut(payment.id, payment.master_pkey, payment.ended_at, midnight, report);
      }
      return ended.length;
    });
    return batch.immediate() === PRUNE_BATCH;
  }

  /**
   * The prune's step for one active payment that ran out at `endedAt`, by `midnight`: it is
   * deleted and the subscriber's next payment takes over. The prune passes its report to count
   * the step; a catch-up outside the prune does not.
   */
  #runOut(
    id: number,
    masterPkey: Uint8Array,
    endedAt: number,
    midnight: number,
    report?: PruneReport,
  ): void {
    this.#sql.deletePayment.run(id);
    if (report) report.paymentsDeleted++;
    this.#handOver(masterPkey, endedAt, midnight, report);
  }

  /**
   * The subscriber's next payment takes over at `endedAt`, the moment the previous one ran out.
   * A successor that also ran out by `midnight` is deleted in turn.
   */
  #handOver(masterPkey: Uint8Array, endedAt: number, midnight: number, report?: PruneReport): void {
    for (;;) {
      const next = this.#sql.earliestInactivePayment.get(masterPkey) as
        | { id: number; duration_s: number }
        | undefined;
      if (!next) return;
      if (report) report.handOvers++;
      if (endedAt + next.duration_s > midnight) {
        this.#sql.activatePayment.run(endedAt, next.id);
        return;
      }
      this.#sql.deletePayment.run(next.id);
      if (report) report.paymentsDeleted++;
      endedAt += next.duration_s;
    }
  }

  #pruneRows(
    statement: Database.Statement,
    midnight: number,
    report: PruneReport,
    what: 'revocations' | 'subscribers',
  ): boolean {
    const batch = this.db.transaction((): number => {
      const { changes } = statement.run(midnight, PRUNE_BATCH);
      if (changes > 0 && what === 'revocations') this.#sql.bumpTicket.run();
      return changes;
    });
    const changes = batch.immediate();
    if (what === 'revocations') report.revocationsDeleted += changes;
    else report.subscribersDeleted += changes;
    return changes === PRUNE_BATCH;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
