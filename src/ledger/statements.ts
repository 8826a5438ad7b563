/** Every SQL statement of the ledger, prepared once per connection. */
import type Database from 'better-sqlite3';

export function prepareStatements(db: Database.Database) {
  const q = (sql: string) => db.prepare(sql);
  return {
    runtime: q('SELECT * FROM runtime WHERE id = 0'),
    insertRuntime: q(`
      INSERT INTO runtime (id, next_gen_index, salt, backend_seed, last_prune_unix_ts_s, ticket)
      VALUES (0, 0, ?, ?, 0, 0)`),
    // Read on every /get_revocations: plucked, so no row object is made for one number.
    ticket: q('SELECT ticket FROM runtime WHERE id = 0').pluck(),
    bumpTicket: q('UPDATE runtime SET ticket = ticket + 1 WHERE id = 0'),
    takeGenIndex: q(`
      UPDATE runtime SET next_gen_index = next_gen_index + 1 WHERE id = 0
      RETURNING next_gen_index - 1 AS gen_index`),
    claimPrune: q(`
      UPDATE runtime SET prune_claim_unix_ts_s = ?, prune_claim_until_ts_s = ? WHERE id = 0`),
    renewPruneClaim: q(`
      UPDATE runtime SET prune_claim_until_ts_s = ? WHERE id = 0 AND prune_claim_unix_ts_s = ?`),
    finishPrune: q(`
      UPDATE runtime
      SET last_prune_unix_ts_s = max(last_prune_unix_ts_s, ?), prune_claim_until_ts_s = 0
      WHERE id = 0`),

    unredeemedByToken: q('SELECT duration_s FROM unredeemed_payments WHERE payment_token = ?'),
    insertUnredeemed: q(`
      INSERT INTO unredeemed_payments (payment_token, duration_s, witnessed_unix_ts_s)
      VALUES (?, ?, ?)`),
    deleteUnredeemed: q('DELETE FROM unredeemed_payments WHERE payment_token = ?'),

    paymentByToken: q('SELECT id, master_pkey FROM payments WHERE payment_token = ?'),
    redeemedToken: q('SELECT 1 FROM redeemed_payment_tokens WHERE payment_token = ?').pluck(),
    insertRedeemedToken: q(`
      INSERT INTO redeemed_payment_tokens (payment_token, redeemed_unix_ts_s) VALUES (?, ?)`),
    insertPayment: q(`
      INSERT INTO payments
        (master_pkey, duration_s, creation_unix_ts_s, activation_unix_ts_s, payment_token)
      VALUES (?, ?, ?, NULL, ?)`),
    deletePayment: q('DELETE FROM payments WHERE id = ?'),
    activePayment: q(`
      SELECT id, activation_unix_ts_s AS activation, duration_s
      FROM payments WHERE master_pkey = ? AND activation_unix_ts_s IS NOT NULL`),
    earliestInactivePayment: q(`
      SELECT id, duration_s FROM payments
      WHERE master_pkey = ? AND activation_unix_ts_s IS NULL
      ORDER BY creation_unix_ts_s, id LIMIT 1`),
    activatePayment: q('UPDATE payments SET activation_unix_ts_s = ? WHERE id = ?'),
    paymentTotals: q(`
      SELECT max(activation_unix_ts_s) AS activation, sum(duration_s) AS total_s
      FROM payments WHERE master_pkey = ? HAVING count(*) > 0`),
    endedPayments: q(`
      SELECT id, master_pkey, activation_unix_ts_s + duration_s AS ended_at FROM payments
      WHERE activation_unix_ts_s IS NOT NULL AND activation_unix_ts_s + duration_s <= ?
      LIMIT ?`),

    subscriber: q('SELECT gen_index, expiry_unix_ts_s FROM subscribers WHERE master_pkey = ?'),
    upsertSubscriber: q(`
      INSERT INTO subscribers (master_pkey, gen_index, expiry_unix_ts_s) VALUES (?, ?, ?)
      ON CONFLICT (master_pkey) DO UPDATE
      SET gen_index = excluded.gen_index, expiry_unix_ts_s = excluded.expiry_unix_ts_s`),
    deleteSubscriber: q('DELETE FROM subscribers WHERE master_pkey = ?'),
    deleteExpiredSubscribers: q(`
      DELETE FROM subscribers WHERE master_pkey IN
        (SELECT master_pkey FROM subscribers WHERE expiry_unix_ts_s <= ? LIMIT ?)`),

    insertRevocation: q(`
      INSERT OR REPLACE INTO revocations (gen_index, gen_index_hash, expiry_unix_ts_s)
      VALUES (?, ?, ?)`),
    allRevocations: q(`
      SELECT gen_index_hash, expiry_unix_ts_s FROM revocations ORDER BY gen_index`),
    deleteExpiredRevocations: q(`
      DELETE FROM revocations WHERE gen_index IN
        (SELECT gen_index FROM revocations WHERE expiry_unix_ts_s <= ? LIMIT ?)`),

    counts: q(`
      SELECT
        (SELECT count(*) FROM subscribers) AS subscribers,
        (SELECT count(*) FROM revocations) AS revocations,
        (SELECT count(*) FROM payments) AS payments,
        (SELECT count(*) FROM unredeemed_payments) AS unredeemed,
        (SELECT count(*) FROM redeemed_payment_tokens) AS redeemed_tokens`),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
