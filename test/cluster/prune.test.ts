import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { DAY_S, latestMidnight, Ledger, openDatabase } from '../../src/ledger/index.ts';
import { fixedBytes, type PaymentToken, type PublicKey } from '../../src/protocol/index.ts';
import {
  faketimeEnv,
  findFaketime,
  freePort,
  groupGone,
  integrityCheck,
  startBackend,
  type Backend,
  type LogLine,
} from '../support/harness.ts';

const D = DAY_S;
const H = 3_600;

function masterKey(n: number): PublicKey {
  return fixedBytes(new Uint8Array(32).fill(0xa0 + n), 32);
}

function paymentToken(n: number): PaymentToken {
  return fixedBytes(new Uint8Array(32).fill(0x70 + n), 32);
}

/** Seeds the database file through the ledger, standing at `now`. */
function seed(path: string, now: number, story: (ledger: Ledger) => void): void {
  const ledger = new Ledger(openDatabase({ path, isUri: false }), () => now);
  try {
    story(ledger);
  } finally {
    ledger.close();
  }
}

function buy(ledger: Ledger, master: number, token: number, days: number): void {
  ledger.witness(paymentToken(token), days);
  ledger.redeem(masterKey(master), paymentToken(token));
}

interface Tables {
  payments: [number, number | null][];
  subscribers: [number, number][];
  revocations: [number, number][];
  last_prune_unix_ts_s: number;
}

/** The rows a prune touches: payments as (duration, activation), the others as (gen, expiry). */
function tables(path: string): Tables {
  const db = new Database(path, { readonly: true });
  try {
    const pairs = (sql: string) => db.prepare(sql).raw().all() as [number, number][];
    return {
      payments: pairs('SELECT duration_s, activation_unix_ts_s FROM payments ORDER BY id'),
      subscribers: pairs('SELECT gen_index, expiry_unix_ts_s FROM subscribers ORDER BY gen_index'),
      revocations: pairs('SELECT gen_index, expiry_unix_ts_s FROM revocations ORDER BY gen_index'),
      last_prune_unix_ts_s: (
        db.prepare('SELECT last_prune_unix_ts_s FROM runtime').get() as {
          last_prune_unix_ts_s: number;
        }
      ).last_prune_unix_ts_s,
    };
  } finally {
    db.close();
  }
}

const iso = (unixTsS: number) => new Date(unixTsS * 1000).toISOString();

function prunesFor(backend: Backend, midnight: number): LogLine[] {
  return backend.event('prune').filter((line) => line.midnight === iso(midnight));
}

interface Asserts {
  equal(found: unknown, wanted: unknown, message: string): boolean;
}

async function stop(t: Asserts, backend: Backend): Promise<void> {
  process.kill(backend.pid, 'SIGTERM');
  const exit = await backend.exited;
  t.equal(exit.code, 0, 'stopped with exit code 0');
  await groupGone(backend, 2_000);
}

t.test('a midnight missed while the service was down is pruned at start-up', async (t) => {
  let now = Math.floor(Date.now() / 1000);
  if (latestMidnight(now) + D - now < 120) {
    // The run must not cross a midnight: wait for this one to pass.
    await new Promise((resolve) => setTimeout(resolve, (latestMidnight(now) + D - now + 2) * 1000));
    now = Math.floor(Date.now() / 1000);
  }
  const midnight = latestMidnight(now);
  const db = join(t.testdir(), 'backend.db');
  seed(db, midnight - 5 * D + H, (ledger) => {
    // Subscriber 1 had one day, active from midnight - 4 D: it and its row are long gone.
    buy(ledger, 1, 1, 1);
  });
  seed(db, midnight - 3 * D + H, (ledger) => {
    // Subscriber 2: two one-day payments from midnight - 2 D (the second stacked), so both ran
    // out by the latest midnight; gen 1 was revoked until the latest midnight; gen 2 expires a
    // day after it.
    buy(ledger, 2, 2, 1);
    buy(ledger, 2, 3, 1);
  });
  t.same(tables(db), {
    payments: [
      [D, midnight - 4 * D],
      [D, midnight - 2 * D],
      [D, null],
    ],
    subscribers: [
      [0, midnight - 2 * D],
      [2, midnight + D],
    ],
    revocations: [[1, midnight]],
    last_prune_unix_ts_s: 0,
  });

  const backend = startBackend(t, { db, port: await freePort(), workers: 2 });
  await backend.workersListening(2);

  t.match(prunesFor(backend, midnight), [
    {
      role: 'primary',
      pid: backend.pid,
      payments_deleted: 3,
      hand_overs: 1,
      subscribers_deleted: 1,
      revocations_deleted: 1,
    },
  ]);
  t.equal(backend.event('prune').length, 1, 'one prune, for the latest midnight only');
  t.same(tables(db), {
    payments: [],
    subscribers: [[2, midnight + D]],
    revocations: [],
    last_prune_unix_ts_s: midnight,
  });
  await stop(t, backend);
});

const faketime = findFaketime();

t.test(
  'at midnight the primary prunes once, also with a second primary on the same file',
  {
    skip: faketime ? false : 'faketime is not installed (Debian: apt-get install faketime)',
  },
  async (t) => {
    // A midnight two days ahead, and a clock that reaches it LEAD_S seconds after the start.
    const LEAD_S = 20;
    const midnight = latestMidnight(Math.floor(Date.now() / 1000)) + 2 * D;
    const db = join(t.testdir(), 'backend.db');
    seed(db, midnight - 3 * D + H, (ledger) => {
      // Two one-day payments from midnight - 2 D, the second stacked. Gen 0 is revoked until
      // midnight; gen 1 expires a day after it.
      buy(ledger, 1, 1, 1);
      buy(ledger, 1, 2, 1);
    });
    seed(db, midnight - D + H, (ledger) => {
      // The midnight before is done: the first payment ran out and the second took over.
      ledger.prune(midnight - D);
    });
    t.same(tables(db), {
      payments: [[D, midnight - D]],
      subscribers: [[1, midnight + D]],
      revocations: [[0, midnight]],
      last_prune_unix_ts_s: midnight - D,
    });

    const env = faketimeEnv(faketime!, midnight - LEAD_S);
    const first = startBackend(t, { db, port: await freePort(), workers: 2, env });
    // A mistaken second deployment on the same database file.
    const second = startBackend(t, { db, port: await freePort(), workers: 1, env });
    for (const backend of [first, second]) {
      const started = await backend.waitFor('start', (l) => l.event === 'cluster_starting');
      const early = midnight * 1000 - started.time;
      t.comment(`primary ${backend.pid} started ${early} ms before the faked midnight`);
      t.ok(early > 0, `primary up before midnight (else it took over ${LEAD_S} s to start)`);
    }

    const pruned = await Promise.race(
      [first, second].map((backend) =>
        backend.waitFor('prune at midnight', (l) => prunesFor(backend, midnight).includes(l)),
      ),
    );
    // Both primaries woke at midnight; give the slower one time to log whatever it did.
    await Promise.all([first.workersListening(2), second.workersListening(1)]);
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const atMidnight = [...prunesFor(first, midnight), ...prunesFor(second, midnight)];
    t.equal(atMidnight.length, 1, 'exactly one prune line for the midnight');
    t.match(pruned, {
      role: 'primary',
      payments_deleted: 1,
      hand_overs: 0,
      subscribers_deleted: 0,
      revocations_deleted: 1,
    });
    t.ok([first.pid, second.pid].includes(pruned.pid), 'logged by a primary process');
    const primaries = [first.pid, second.pid];
    const prunes = [...first.event('prune'), ...second.event('prune')];
    t.same(
      prunes.filter((l) => l.role !== 'primary' || !primaries.includes(l.pid)),
      [],
      'every prune line comes from a primary, none from a worker',
    );
    t.equal(prunes.length, 1, 'no other prune: the midnight before was already done');

    t.same(tables(db), {
      payments: [],
      subscribers: [[1, midnight + D]],
      revocations: [],
      last_prune_unix_ts_s: midnight,
    });
    await stop(t, first);
    await stop(t, second);
    t.equal(integrityCheck(db), 'ok');
  },
);
