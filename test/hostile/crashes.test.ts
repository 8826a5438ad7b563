/**
 * Crashes in the middle of a stream of redemptions: a worker killed with SIGKILL, then the whole
 * process group. Every redemption answered 200 must be in the database afterwards, the database
 * must pass `PRAGMA integrity_check`, and the service must keep (or go back to) serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { addPaymentBody, type ClientKeys } from '../../src/client/index.ts';
import { publicKeyFromSeed, toHex, type PaymentToken } from '../../src/protocol/index.ts';
import {
  freePort,
  groupGone,
  isAlive,
  request,
  startBackend,
  type Backend,
  type Reply,
} from '../support/harness.ts';
import { freshKeys } from '../support/app.ts';
import { openLedgerFile, witnessTokens } from '../support/ledger-file.ts';

const TOKENS = 240;
const IN_FLIGHT = 8;
/** Answered redemptions before the kill. */
const KILL_AFTER = 60;

const ALREADY_REDEEMED = '{"msg":["payment_token was already redeemed"],"status":400}';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

interface Attempt {
  token: PaymentToken;
  keys: ClientKeys;
  /** The answer, or 'lost' when the connection failed before one came. */
  answer: Reply | 'lost';
}

/**
 * Redeems `tokens` with IN_FLIGHT requests at a time, each on its own connection, until all are
 * tried or `stopped()` says so. `answered` hears of every 200.
 */
async function streamRedemptions(
  port: number,
  tokens: PaymentToken[],
  answered: (count: number) => void,
  stopped: () => boolean = () => false,
): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  let next = 0;
  let successes = 0;
  const lane = async () => {
    while (next < tokens.length && !stopped()) {
      const token = tokens[next++]!;
      const keys = freshKeys();
      let answer: Reply | 'lost';
      try {
        answer = await request(port, '/add_payment', addPaymentBody(keys, token));
      } catch {
        answer = 'lost';
      }
      attempts.push({ token, keys, answer });
      if (answer !== 'lost' && answer.status === 200) answered(++successes);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return attempts;
}

function answeredOk(attempts: Attempt[]): Attempt[] {
  return attempts.filter((a) => a.answer !== 'lost' && a.answer.status === 200);
}

/** Opens the file read-write, as a restarting server would (recovering the WAL), to read it. */
function readDatabase<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function masterHex(keys: ClientKeys): string {
  return toHex(publicKeyFromSeed(keys.masterSeed));
}

/** Every answered redemption is in payments under its master key; every token is in one table. */
function checkNothingLost(
  t: Test,
  path: string,
  tokens: PaymentToken[],
  attempts: Attempt[],
): void {
  readDatabase(path, (db) => {
    t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'PRAGMA integrity_check is ok');
    const payer = db.prepare('SELECT master_pkey FROM payments WHERE payment_token = ?');
    const payerOf = (token: PaymentToken) => {
      const row = payer.get(token) as { master_pkey: Buffer } | undefined;
      return row ? toHex(row.master_pkey) : undefined;
    };
    const unredeemed = db.prepare('SELECT 1 FROM unredeemed_payments WHERE payment_token = ?');

    const answered = answeredOk(attempts);
    t.same(
      answered.filter((a) => payerOf(a.token) !== masterHex(a.keys)).map((a) => toHex(a.token)),
      [],
      `each of the ${answered.length} redemptions answered 200 is in payments, under its master key`,
    );
    t.same(
      tokens
        .filter((token) => (payerOf(token) !== undefined) === (unredeemed.get(token) !== undefined))
        .map(toHex),
      [],
      'every token is either unredeemed or redeemed, never both or neither',
    );
  });
}

/** A client whose connection failed retries: the redemption happened once or happens now. */
async function retryLost(t: Test, port: number, attempts: Attempt[]): Promise<void> {
  const lost = attempts.filter((a) => a.answer === 'lost');
  const retried = await Promise.all(
    lost.map((a) => request(port, '/add_payment', addPaymentBody(a.keys, a.token))),
  );
  t.same(
    retried.filter((r) => r.status !== 200 && r.body !== ALREADY_REDEEMED).map((r) => r.body),
    [],
    `the ${lost.length} clients that got no answer get 200 or "already redeemed" on retrying`,
  );
}

async function serves(t: Test, backend: Backend, token: PaymentToken): Promise<void> {
  const health = await Promise.all(
    Array.from({ length: 6 }, () => request(backend.port, '/health')),
  );
  t.same(
    health.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
    'health answers 200',
  );
  const fresh = await request(backend.port, '/add_payment', addPaymentBody(freshKeys(), token));
  t.equal(fresh.status, 200, 'a new redemption succeeds');
}

function tempDatabase(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sesh-crash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'backend.db');
}

t.test('a worker killed with SIGKILL mid-stream loses no answered redemption', async (t) => {
  const path = tempDatabase(t);
  const ledger = openLedgerFile(path);
  const tokens = witnessTokens(ledger, TOKENS, 30);
  const [spare] = witnessTokens(ledger, 1, 30);
  ledger.close();

  const backend = startBackend(t, { db: path, port: await freePort(), workers: 2 });
  const [victim, survivor] = await backend.workersListening(2);

  let answeredBeforeKill = 0;
  const attempts = await streamRedemptions(backend.port, tokens, (count) => {
    if (count === KILL_AFTER) {
      process.kill(victim!, 'SIGKILL');
      answeredBeforeKill = count;
    }
  });
  const lost = attempts.filter((a) => a.answer === 'lost').length;
  const ok = answeredOk(attempts).length;
  t.comment(
    `${attempts.length} redemptions: ${ok} answered 200, ${lost} lost with their connection`,
  );
  t.equal(answeredBeforeKill, KILL_AFTER, 'the worker was killed mid-stream');
  t.ok(ok > KILL_AFTER, 'redemptions were answered after the kill');
  t.same(
    attempts
      .filter((a) => a.answer !== 'lost' && a.answer.status !== 200)
      .map((a) => (a.answer as Reply).body),
    [],
    'every answer received was a 200',
  );
  t.notOk(isAlive(victim!), 'the killed worker is gone');
  t.ok(isAlive(survivor!), 'the other worker kept serving');

  checkNothingLost(t, path, tokens, attempts);

  // The primary replaces the dead worker; then the cluster serves on both.
  await backend.workersListening(3);
  await retryLost(t, backend.port, attempts);
  await serves(t, backend, spare!);
  checkNothingLost(t, path, tokens, attempts);
  t.same(backend.event('internal_error'), []);
});

t.test(
  'the whole process group killed mid-write, then restarted, loses no answered redemption',
  async (t) => {
    const path = tempDatabase(t);
    const ledger = openLedgerFile(path);
    const tokens = witnessTokens(ledger, TOKENS, 30);
    const [spare] = witnessTokens(ledger, 1, 30);
    ledger.close();

    const first = startBackend(t, { db: path, port: await freePort(), workers: 2 });
    await first.workersListening(2);
    let killed = false;
    const attempts = await streamRedemptions(
      first.port,
      tokens,
      (count) => {
        if (count === KILL_AFTER) {
          first.kill();
          killed = true;
        }
      },
      () => killed,
    );
    await groupGone(first, 10_000);
    const ok = answeredOk(attempts);
    t.comment(
      `${attempts.length} redemptions tried before the kill took effect: ${ok.length} answered 200, ` +
        `${attempts.filter((a) => a.answer === 'lost').length} lost with their connection`,
    );
    t.ok(killed && ok.length >= KILL_AFTER, 'the group was killed with redemptions in flight');

    // The file as the killed processes left it, opened the way a restart opens it.
    checkNothingLost(t, path, tokens, attempts);

    const second = startBackend(t, { db: path, port: await freePort(), workers: 2 });
    await second.workersListening(2);
    const replayed = await request(
      second.port,
      '/add_payment',
      addPaymentBody(ok[0]!.keys, ok[0]!.token),
    );
    t.equal(
      replayed.body,
      ALREADY_REDEEMED,
      'an answered redemption is still redeemed after the restart',
    );
    await retryLost(t, second.port, attempts);
    const rest = attempts.length;
    const untried = tokens.slice(rest);
    const after = await streamRedemptions(second.port, untried, () => {});
    t.equal(
      answeredOk(after).length,
      untried.length,
      'tokens never tried before the crash redeem now',
    );
    await serves(t, second, spare!);
    checkNothingLost(t, path, tokens, [...attempts, ...after]);
    t.same(second.event('internal_error'), []);
  },
);
