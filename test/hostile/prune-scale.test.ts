/**
 * The daily prune at scale: 200,000 payments, 200,000 subscribers and 200,000 revocations due at
 * one midnight, beside rows that must stay. The prune runs in a process of its own (as the
 * cluster primary runs it) while clients redeem through the cluster's workers. It must leave
 * exactly the rows the protocol keeps, and redemptions must keep being answered meanwhile: the
 * prune works in short transactions. How long it took and the worst redemption latency during it
 * are reported, not asserted (timings on a shared machine are not a contract).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { addPaymentBody } from '../../src/client/index.ts';
import { DAY_S, dayCeil, latestMidnight, type PruneOutcome } from '../../src/ledger/index.ts';
import { genIndexHash, publicKeyFromSeed, toHex, type Salt } from '../../src/protocol/index.ts';
import { freePort, REPO, request, startBackend } from '../support/harness.ts';
import { freshKeys } from '../support/app.ts';
import { openLedgerFile } from '../support/ledger-file.ts';

const D = DAY_S;
const now = Math.floor(Date.now() / 1000);
/** The cluster's primary has pruned for the latest midnight; the one under test is later. */
const LAST_PRUNED = latestMidnight(now);
const T = LAST_PRUNED + 2 * D;

const N = {
  /** Subscribers whose only payment ran out at T and whose expiry is T. */
  lapsedPaid: 190_000,
  /** Subscribers with no payment left, expiring at T. */
  lapsedUnpaid: 10_000,
  /** A payment that runs out at T, and a stacked one that takes over. */
  stacked: 10_000,
  /** A payment running well past T, and a stacked one not yet active. */
  active: 5_000,
  /** Subscribers expiring one second after T. */
  boundary: 100,
  dueRevocations: 200_000,
  keptRevocations: 5_000,
  boundaryRevocations: 100,
  /** Witnessed tokens for the redemptions made while the prune runs. */
  witnessed: 20_000,
};

const DUE = { payments: 200_000, subscribers: 200_000, revocations: 200_000 };

/** Recognisable 32-byte values: a group tag everywhere but the first four bytes, which count. */
function tagged(tag: number, i: number): Buffer {
  const bytes = Buffer.alloc(32, tag);
  bytes.writeUInt32BE(i, 0);
  return bytes;
}

const MASTER = {
  lapsedPaid: 0x11,
  lapsedUnpaid: 0x12,
  stacked: 0x22,
  active: 0x33,
  boundary: 0x44,
};
const TOKEN = {
  lapsedPaid: 0x81,
  stackedEnded: 0x82,
  stackedNext: 0x83,
  active: 0x84,
  activeNext: 0x85,
  witnessed: 0x90,
};
const GEN = {
  lapsedPaid: 0,
  lapsedUnpaid: 190_000,
  stacked: 200_000,
  active: 210_000,
  boundary: 215_000,
};
const REVOKED_GEN = { due: 300_000, kept: 500_000, boundary: 510_000 };
const NEXT_GEN_INDEX = 600_000;

function paymentRow(
  master: Buffer,
  days: number,
  creation: number,
  activation: number | null,
  token: Buffer,
) {
  return `${toHex(master)} ${days * D} ${creation} ${activation ?? '-'} ${toHex(token)}`;
}

function subscriberRow(master: Buffer, genIndex: number, expiry: number) {
  return `${toHex(master)} ${genIndex} ${expiry}`;
}

function revocationRow(genIndex: number, hash: Uint8Array, expiry: number) {
  return `${genIndex} ${toHex(hash)} ${expiry}`;
}

interface Expected {
  payments: string[];
  subscribers: string[];
  revocations: string[];
}

/** Writes every group in one transaction and returns the rows the prune must leave. */
function seed(db: Database.Database, salt: Salt): Expected {
  const payment = db.prepare(`
    INSERT INTO payments
      (master_pkey, duration_s, creation_unix_ts_s, activation_unix_ts_s, payment_token)
    VALUES (?, ?, ?, ?, ?)`);
  const subscriber = db.prepare(
    'INSERT INTO subscribers (master_pkey, gen_index, expiry_unix_ts_s) VALUES (?, ?, ?)',
  );
  const revocation = db.prepare(
    'INSERT INTO revocations (gen_index, gen_index_hash, expiry_unix_ts_s) VALUES (?, ?, ?)',
  );
  const witnessed = db.prepare(
    `INSERT INTO unredeemed_payments (payment_token, duration_s, witnessed_unix_ts_s)
     VALUES (?, ?, ?)`,
  );
  const expected: Expected = { payments: [], subscribers: [], revocations: [] };

  db.transaction(() => {
    for (let i = 0; i < N.lapsedPaid; i++) {
      const master = tagged(MASTER.lapsedPaid, i);
      subscriber.run(master, GEN.lapsedPaid + i, T);
      payment.run(master, 30 * D, T - 30 * D, T - 30 * D, tagged(TOKEN.lapsedPaid, i));
    }
    for (let i = 0; i < N.lapsedUnpaid; i++) {
      subscriber.run(tagged(MASTER.lapsedUnpaid, i), GEN.lapsedUnpaid + i, T);
    }
    for (let i = 0; i < N.stacked; i++) {
      const master = tagged(MASTER.stacked, i);
      subscriber.run(master, GEN.stacked + i, T + 31 * D);
      expected.subscribers.push(subscriberRow(master, GEN.stacked + i, T + 31 * D));
      payment.run(master, 30 * D, T - 30 * D, T - 30 * D, tagged(TOKEN.stackedEnded, i));
      payment.run(master, 30 * D, T - 29 * D, null, tagged(TOKEN.stackedNext, i));
      // Hand-over: the next payment activates when the previous one ran out, at T exactly.
      expected.payments.push(paymentRow(master, 30, T - 29 * D, T, tagged(TOKEN.stackedNext, i)));
    }
    for (let i = 0; i < N.active; i++) {
      const master = tagged(MASTER.active, i);
      subscriber.run(master, GEN.active + i, T + 51 * D);
      expected.subscribers.push(subscriberRow(master, GEN.active + i, T + 51 * D));
      payment.run(master, 30 * D, T - 10 * D, T - 10 * D, tagged(TOKEN.active, i));
      payment.run(master, 30 * D, T - 9 * D, null, tagged(TOKEN.activeNext, i));
      expected.payments.push(
        paymentRow(master, 30, T - 10 * D, T - 10 * D, tagged(TOKEN.active, i)),
      );
      expected.payments.push(paymentRow(master, 30, T - 9 * D, null, tagged(TOKEN.activeNext, i)));
    }
    for (let i = 0; i < N.boundary; i++) {
      const master = tagged(MASTER.boundary, i);
      subscriber.run(master, GEN.boundary + i, T + 1);
      expected.subscribers.push(subscriberRow(master, GEN.boundary + i, T + 1));
    }
    // The prune never reads the hash of a revocation it deletes: a cheap unique value stands in
    // (hashing 200,000 gen indexes would cost seconds). Kept revocations carry the real hash.
    for (let i = 0; i < N.dueRevocations; i++) {
      revocation.run(REVOKED_GEN.due + i, tagged(0xdd, i), T);
    }
    for (let i = 0; i < N.keptRevocations; i++) {
      const genIndex = REVOKED_GEN.kept + i;
      const expiry = T + (1 + (i % 30)) * D;
      revocation.run(genIndex, genIndexHash(genIndex, salt), expiry);
      expected.revocations.push(revocationRow(genIndex, genIndexHash(genIndex, salt), expiry));
    }
    for (let i = 0; i < N.boundaryRevocations; i++) {
      const genIndex = REVOKED_GEN.boundary + i;
      revocation.run(genIndex, genIndexHash(genIndex, salt), T + 1);
      expected.revocations.push(revocationRow(genIndex, genIndexHash(genIndex, salt), T + 1));
    }
    for (let i = 0; i < N.witnessed; i++) witnessed.run(tagged(TOKEN.witnessed, i), 30 * D, now);
    db.prepare('UPDATE runtime SET last_prune_unix_ts_s = ?, next_gen_index = ?').run(
      LAST_PRUNED,
      NEXT_GEN_INDEX,
    );
  }).immediate();
  return expected;
}

interface Redemption {
  master: string;
  token: string;
  status: number;
  body: string;
  sentMs: number;
  doneMs: number;
}

/** Whether two lists hold the same rows; on a difference, shows where they part. */
function sameRows(t: Test, actual: string[], expected: string[], what: string): void {
  const a = [...actual].sort();
  const e = [...expected].sort();
  const at = a.findIndex((row, i) => row !== e[i]);
  if (a.length === e.length && at === -1) {
    t.pass(`${what}: exactly the ${e.length} rows kept`);
    return;
  }
  t.fail(`${what}: ${a.length} rows, expected ${e.length}`, {
    firstDifference: { actual: a.slice(at, at + 3), expected: e.slice(at, at + 3) },
  });
}

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

t.test(
  `prune of ${DUE.payments.toLocaleString('en')} payments, subscribers and revocations while workers redeem`,
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sesh-prune-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'backend.db');

    const ledger = openLedgerFile(path);
    const salt = ledger.salt;
    const seedStarted = performance.now();
    const expected = seed(ledger.db, salt);
    t.comment(`seeded in ${Math.round(performance.now() - seedStarted)} ms`);
    const ticketBefore = ledger.stats().ticket;
    // The seeding's write-ahead log goes into the database first, as routine checkpoints would
    // have put it, so that no redemption below pays for checkpointing the test's own setup.
    ledger.db.pragma('wal_checkpoint(TRUNCATE)');
    ledger.close();

    const backend = startBackend(t, { db: path, port: await freePort(), workers: 2 });
    await backend.workersListening(2);

    // Clients redeem the witnessed tokens in order, each with a new master key.
    const redemptions: Redemption[] = [];
    let nextToken = 0;
    const redeemOne = async () => {
      const token = tagged(TOKEN.witnessed, nextToken++);
      const keys = freshKeys();
      const body = addPaymentBody(keys, token);
      const sentMs = performance.timeOrigin + performance.now();
      const reply = await request(backend.port, '/add_payment', body);
      redemptions.push({
        master: toHex(publicKeyFromSeed(keys.masterSeed)),
        token: toHex(token),
        status: reply.status,
        body: reply.body,
        sentMs,
        doneMs: performance.timeOrigin + performance.now(),
      });
    };
    for (let i = 0; i < 4; i++) await redeemOne();

    // The prune, in its own process, on its own connection.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/prune-once.ts', path, String(T)],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    let startedAtMs = 0;
    let done: { at_ms: number; duration_ms: number; outcome: PruneOutcome } | undefined;
    const started = new Promise<void>((resolve) => {
      let pending = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const event = JSON.parse(line) as { event: string; at_ms: number };
          if (event.event === 'prune_started') {
            startedAtMs = event.at_ms;
            resolve();
          } else if (event.event === 'prune_done') {
            done = event as unknown as typeof done;
          }
        }
      });
      void exited.then(() => resolve());
    });

    await started;
    // Four clients redeem for as long as the prune runs.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (done === undefined && child.exitCode === null && nextToken < N.witnessed)
          await redeemOne();
      }),
    );
    t.equal(await exited, 0, `the prune process exited cleanly ${stderr}`);
    if (!done) throw new Error(`the prune process reported no result: ${stderr}`);

    t.same(
      done.outcome,
      {
        kind: 'pruned',
        report: {
          midnight: T,
          paymentsDeleted: DUE.payments,
          handOvers: N.stacked,
          subscribersDeleted: DUE.subscribers,
          revocationsDeleted: DUE.revocations,
        },
      },
      'the prune deleted exactly the due rows and handed over every stacked payment',
    );

    const during = redemptions.filter((r) => r.doneMs >= startedAtMs && r.sentMs <= done!.at_ms);
    const answeredDuring = redemptions.filter(
      (r) => r.doneMs > startedAtMs && r.doneMs < done!.at_ms,
    );
    const latencies = during.map((r) => r.doneMs - r.sentMs).sort((a, b) => a - b);
    t.comment(
      `prune took ${Math.round(done.duration_ms)} ms; ${answeredDuring.length} redemptions answered ` +
        `during it; redemption latency meanwhile: worst ${Math.round(latencies.at(-1) ?? NaN)} ms, ` +
        `median ${Math.round(percentile(latencies, 50))} ms, p99 ${Math.round(percentile(latencies, 99))} ms`,
    );
    t.same(
      redemptions.filter((r) => r.status !== 200).map((r) => r.body),
      [],
      'every redemption answered 200',
    );
    t.ok(answeredDuring.length > 0, 'redemptions were answered while the prune ran');

    const db = new Database(path, { readonly: true });
    t.teardown(() => db.close());
    const redeemedMasters = new Set(redemptions.map((r) => r.master));
    const notRedeemed = (row: string) => !redeemedMasters.has(row.slice(0, 64));

    const paymentRows = db
      .prepare(
        `SELECT lower(hex(master_pkey)) || ' ' || duration_s || ' ' || creation_unix_ts_s || ' ' ||
           coalesce(activation_unix_ts_s, '-') || ' ' || lower(hex(payment_token)) AS row
         FROM payments`,
      )
      .pluck()
      .all() as string[];
    sameRows(t, paymentRows.filter(notRedeemed), expected.payments, 'payments');
    const subscriberRows = db
      .prepare(
        `SELECT lower(hex(master_pkey)) || ' ' || gen_index || ' ' || expiry_unix_ts_s
         FROM subscribers`,
      )
      .pluck()
      .all() as string[];
    sameRows(t, subscriberRows.filter(notRedeemed), expected.subscribers, 'subscribers');
    const revocationRows = db
      .prepare(
        `SELECT gen_index || ' ' || lower(hex(gen_index_hash)) || ' ' || expiry_unix_ts_s
         FROM revocations`,
      )
      .pluck()
      .all() as string[];
    sameRows(t, revocationRows, expected.revocations, 'revocations');

    // The redemptions made meanwhile are whole: a payment activated on its day and a subscriber.
    const activations = new Set([
      dayCeil(Math.floor(redemptions[0]!.sentMs / 1000)),
      dayCeil(Math.floor(Date.now() / 1000)),
    ]);
    const redeemedPayments = paymentRows
      .filter((row) => !notRedeemed(row))
      .map((row) => row.split(' '));
    t.equal(redeemedPayments.length, redemptions.length, 'one payment per redemption');
    t.ok(
      redeemedPayments.every(
        ([, duration, creation, activation]) =>
          duration === String(30 * D) &&
          creation === activation &&
          activations.has(Number(activation)),
      ),
      'each activated at day_ceil of its redemption',
    );
    t.equal(
      subscriberRows.filter((row) => !notRedeemed(row)).length,
      redemptions.length,
      'one subscriber each',
    );

    const runtime = db.prepare('SELECT * FROM runtime').get() as {
      last_prune_unix_ts_s: number;
      next_gen_index: number;
      ticket: number;
    };
    t.equal(runtime.last_prune_unix_ts_s, T, 'the midnight is marked done');
    t.equal(
      runtime.next_gen_index,
      NEXT_GEN_INDEX + redemptions.length,
      'one gen index per redemption',
    );
    t.ok(runtime.ticket > ticketBefore, 'the ticket moved: the revocation list changed');
    t.equal(
      db.prepare('SELECT count(*) FROM unredeemed_payments').pluck().get(),
      N.witnessed - redemptions.length,
      'the tokens not redeemed are still witnessed',
    );
    t.equal(db.pragma('quick_check', { simple: true }), 'ok', 'PRAGMA quick_check is ok');
    t.same(backend.event('internal_error'), []);
  },
);
