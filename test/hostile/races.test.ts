/**
 * Races against a running 2-worker cluster: concurrent redemptions of one token, of many tokens,
 * and by one master key. The ledger's rows are read afterwards straight from the database file.
 * No client may ever see "database is locked": every answer is a 200 or an expected refusal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  addPaymentBody,
  buildOnionRequest,
  proofSignatureIsValid,
  revocationListIsWellFormed,
  type ClientKeys,
  type OnionRequest,
} from '../../src/client/index.ts';
import { DAY_S, dayCeil } from '../../src/ledger/index.ts';
import {
  fixedBytes,
  genIndexHash,
  publicKeyFromSeed,
  toHex,
  type ProofJson,
  type Salt,
} from '../../src/protocol/index.ts';
import { freePort, request, startBackend, type Reply } from '../support/harness.ts';
import { freshKeys } from '../support/app.ts';
import { openLedgerFile, witnessTokens } from '../support/ledger-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'sesh-races-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const dbPath = join(dir, 'backend.db');

/** Every answer any test here received, for the "database is locked" check at the end. */
const answers: Reply[] = [];

const ledger = openLedgerFile(dbPath);
t.teardown(() => ledger.close());
const salt = ledger.salt as Salt;
const backendPkey = toHex(ledger.backendKey.publicKey);

// The tokens are witnessed before the cluster starts; the rows are read after each race.
const sharedToken = witnessTokens(ledger, 1, 30)[0]!;
const distinctTokens = witnessTokens(ledger, 200, 30);
const STACK_DAYS = [1, 2, 3, 5, 7, 10, 14, 30, 31, 60, 90, 180, 365, 1, 30, 7, 2, 90, 365, 14];
const stackTokens = STACK_DAYS.map((days) => witnessTokens(ledger, 1, days)[0]!);

const backend = startBackend(t, { db: dbPath, port: await freePort(), workers: 2 });
await backend.workersListening(2);

/** A request on its own connection (so that either worker may take it), recorded. */
async function post(path: string, body: unknown): Promise<Reply> {
  const reply = await request(backend.port, path, body);
  answers.push(reply);
  return reply;
}

/** Reads the database file on a connection of the test's own. */
function readDb<T>(read: (db: Database.Database) => T): T {
  const db = new Database(dbPath, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

const onionKey = fixedBytes(ed25519.utils.toMontgomery(ledger.backendKey.publicKey), 32);

/** A sealed request to the onion route; the reply is opened back into a status and a body. */
async function postOnion(onion: OnionRequest): Promise<Reply> {
  const response = await fetch(`http://127.0.0.1:${backend.port}/oxen/v4/lsrpc`, {
    method: 'POST',
    body: new Uint8Array(onion.body),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  let reply: Reply = { status: response.status, body: Buffer.from(bytes).toString('utf8') };
  if (response.status === 200) {
    const inner = onion.open(bytes);
    reply = { status: inner.code, body: inner.body.toString('utf8') };
  }
  answers.push(reply);
  return reply;
}

function masterHex(keys: ClientKeys): string {
  return toHex(publicKeyFromSeed(keys.masterSeed));
}

function runtime(db: Database.Database) {
  return db.prepare('SELECT next_gen_index, ticket FROM runtime').get() as {
    next_gen_index: number;
    ticket: number;
  };
}

t.test(
  '50 concurrent redemptions of one token, half through the onion: exactly one succeeds',
  async (t) => {
    const clients = Array.from({ length: 50 }, () => freshKeys());
    // Signed (and sealed) before any is sent, so that all fifty arrive together.
    const bodies = clients.map((keys) => addPaymentBody(keys, sharedToken));
    const sealed = bodies.map((body) =>
      buildOnionRequest(onionKey, {
        method: 'POST',
        endpoint: '/add_payment',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );
    const replies = await Promise.all(
      bodies.map((body, i) => (i % 2 === 0 ? post('/add_payment', body) : postOnion(sealed[i]!))),
    );

    const winners = replies.flatMap((reply, i) => (reply.status === 200 ? [i] : []));
    t.equal(winners.length, 1, 'one redemption succeeded');
    const refusals = replies
      .filter((reply) => reply.status !== 200)
      .map((reply) => [reply.status, reply.body]);
    t.equal(refusals.length, 49);
    t.same(
      [...new Set(refusals.map((r) => JSON.stringify(r)))],
      [JSON.stringify([400, '{"msg":["payment_token was already redeemed"],"status":400}'])],
      'every other one was refused as already redeemed',
    );

    const winner = clients[winners[0]!]!;
    const proof = (JSON.parse(replies[winners[0]!]!.body) as { result: ProofJson }).result;
    t.ok(proofSignatureIsValid(proof, backendPkey), 'the winner holds a proof the backend signed');
    readDb((db) => {
      const rows = db
        .prepare('SELECT master_pkey FROM payments WHERE payment_token = ?')
        .all(sharedToken) as { master_pkey: Buffer }[];
      t.same(
        rows.map((r) => toHex(r.master_pkey)),
        [masterHex(winner)],
        "one payment, the winner's",
      );
      t.equal(
        (
          db
            .prepare('SELECT count(*) AS n FROM unredeemed_payments WHERE payment_token = ?')
            .get(sharedToken) as { n: number }
        ).n,
        0,
        'the token is no longer unredeemed',
      );
      const subscribed = clients.filter((keys) =>
        db
          .prepare('SELECT 1 FROM subscribers WHERE master_pkey = ?')
          .get(publicKeyFromSeed(keys.masterSeed)),
      );
      t.same(subscribed.map(masterHex), [masterHex(winner)], 'only the winner became a subscriber');
    });
  },
);

t.test(
  '200 concurrent redemptions of distinct tokens all succeed with 200 gen indexes',
  async (t) => {
    const before = readDb(runtime);
    const clients = distinctTokens.map(() => freshKeys());
    const bodies = clients.map((keys, i) => addPaymentBody(keys, distinctTokens[i]!));
    const replies = await Promise.all(bodies.map((body) => post('/add_payment', body)));

    t.same(
      replies.filter((r) => r.status !== 200).map((r) => r.body),
      [],
      'every redemption answered 200',
    );
    const proofs = replies.map((r) => (JSON.parse(r.body) as { result: ProofJson }).result);
    t.equal(
      new Set(proofs.map((p) => p.gen_index_hash)).size,
      200,
      '200 distinct gen index hashes',
    );
    const servedBy = new Set(backend.event('payment_redeemed').map((line) => line.pid));
    t.equal(servedBy.size, 2, 'both workers redeemed');
    t.ok(
      proofs.every((p) => proofSignatureIsValid(p, backendPkey)),
      'every proof is signed by the backend',
    );

    readDb((db) => {
      const after = runtime(db);
      t.equal(
        after.next_gen_index - before.next_gen_index,
        200,
        'exactly 200 gen indexes were taken',
      );
      t.equal(after.ticket, before.ticket, 'new subscribers revoke nothing');
      const subscriber = db.prepare(
        'SELECT gen_index, expiry_unix_ts_s FROM subscribers WHERE master_pkey = ?',
      );
      const payment = db.prepare(
        `SELECT payment_token, activation_unix_ts_s, creation_unix_ts_s FROM payments
         WHERE master_pkey = ?`,
      );
      const genIndexes = new Set<number>();
      const wrong: string[] = [];
      clients.forEach((keys, i) => {
        const master = publicKeyFromSeed(keys.masterSeed);
        const row = subscriber.get(master) as { gen_index: number; expiry_unix_ts_s: number };
        const paid = payment.all(master) as {
          payment_token: Buffer;
          activation_unix_ts_s: number;
          creation_unix_ts_s: number;
        }[];
        genIndexes.add(row.gen_index);
        const proof = proofs[i]!;
        if (proof.gen_index_hash !== toHex(genIndexHash(row.gen_index, salt))) {
          wrong.push(`${i}: proof's gen_index_hash is not the subscriber's gen index`);
        }
        if (paid.length !== 1 || toHex(paid[0]!.payment_token) !== toHex(distinctTokens[i]!)) {
          wrong.push(`${i}: payments are not exactly the one redeemed`);
          return;
        }
        const activation = paid[0]!.activation_unix_ts_s;
        if (activation !== paid[0]!.creation_unix_ts_s || activation % DAY_S !== 0) {
          wrong.push(`${i}: activation ${activation} is not day_ceil of the redemption`);
        }
        const expiry = activation + 30 * DAY_S + DAY_S;
        if (row.expiry_unix_ts_s !== expiry || proof.expiry_unix_ts_s !== expiry) {
          wrong.push(
            `${i}: expiry ${row.expiry_unix_ts_s}/${proof.expiry_unix_ts_s}, expected ${expiry}`,
          );
        }
      });
      t.equal(genIndexes.size, 200, '200 subscribers with 200 distinct gen indexes');
      t.same(wrong, [], 'each subscriber, proof and payment agree');
    });
  },
);

t.test(
  "concurrent redemptions by one master key: the protocol's expiry, every old gen index revoked",
  async (t) => {
    const before = readDb(runtime);
    const master = freshKeys().masterSeed;
    // One master key, a new rotating key for each redemption (a user on several devices).
    const clients = stackTokens.map(() => ({
      masterSeed: master,
      rotatingSeed: freshKeys().rotatingSeed,
    }));
    const bodies = clients.map((keys, i) => addPaymentBody(keys, stackTokens[i]!));
    const startedAt = Math.floor(Date.now() / 1000);
    // Readers of the revocation list race the writers.
    const [replies, lists] = await Promise.all([
      Promise.all(bodies.map((body) => post('/add_payment', body))),
      Promise.all(
        Array.from({ length: 20 }, (_, i) => post('/get_revocations', { version: 0, ticket: i })),
      ),
    ]);
    const endedAt = Math.floor(Date.now() / 1000);

    t.same(
      replies.filter((r) => r.status !== 200).map((r) => r.body),
      [],
      'every redemption answered 200',
    );
    t.same(
      lists.filter((r) => r.status !== 200).map((r) => r.body),
      [],
      'every revocation read answered 200',
    );
    t.ok(
      lists.every((r) => revocationListIsWellFormed(JSON.parse(r.body).result)),
      'every list read meanwhile is well formed',
    );
    const proofs = replies.map((r) => (JSON.parse(r.body) as { result: ProofJson }).result);
    const n = STACK_DAYS.length;

    readDb((db) => {
      const masterPkey = publicKeyFromSeed(master);
      const payments = db
        .prepare(
          `SELECT duration_s, creation_unix_ts_s, activation_unix_ts_s FROM payments
         WHERE master_pkey = ? ORDER BY id`,
        )
        .all(masterPkey) as {
        duration_s: number;
        creation_unix_ts_s: number;
        activation_unix_ts_s: number | null;
      }[];
      t.equal(payments.length, n, `${n} payments for the master key`);
      const active = payments.filter((p) => p.activation_unix_ts_s !== null);
      t.equal(active.length, 1, 'exactly one payment is active');
      // The first redemption served activates at day_ceil of its time: read it from the rows rather
      // than guess it, in case the test straddles a UTC midnight.
      const activation = active[0]!.activation_unix_ts_s!;
      t.equal(
        activation,
        payments[0]!.creation_unix_ts_s,
        'the earliest-created payment is the active one',
      );
      t.ok(
        activation === dayCeil(startedAt) || activation === dayCeil(endedAt),
        'activation is day_ceil of the redemption time',
      );

      const sum = STACK_DAYS.reduce((total, days) => total + days * DAY_S, 0);
      const expiry = activation + sum + DAY_S;
      const subscriber = db
        .prepare('SELECT gen_index, expiry_unix_ts_s FROM subscribers WHERE master_pkey = ?')
        .get(masterPkey) as { gen_index: number; expiry_unix_ts_s: number };
      t.equal(
        subscriber.expiry_unix_ts_s,
        expiry,
        'expiry = activation + sum of durations + 1 day',
      );

      // Each redemption issued a proof under its own gen index; all but the current are revoked.
      const hashes = proofs.map((p) => p.gen_index_hash);
      t.equal(new Set(hashes).size, n, `${n} redemptions, ${n} gen indexes`);
      const current = toHex(genIndexHash(subscriber.gen_index, salt));
      t.ok(hashes.includes(current), 'the current gen index is one the redemptions issued');
      const latest = proofs.find((p) => p.gen_index_hash === current)!;
      t.equal(latest.expiry_unix_ts_s, expiry, 'the latest proof carries the final expiry');

      const revocations = db
        .prepare('SELECT gen_index, gen_index_hash, expiry_unix_ts_s FROM revocations')
        .all() as { gen_index: number; gen_index_hash: Buffer; expiry_unix_ts_s: number }[];
      const superseded = revocations.filter((r) => hashes.includes(toHex(r.gen_index_hash)));
      t.equal(superseded.length, n - 1, `${n - 1} superseded gen indexes revoked`);
      t.notOk(
        superseded.some((r) => r.gen_index === subscriber.gen_index),
        'the current one is not revoked',
      );
      const issued = new Map(proofs.map((p) => [p.gen_index_hash, p.expiry_unix_ts_s]));
      t.same(
        superseded
          .filter(
            (r) =>
              toHex(r.gen_index_hash) !== toHex(genIndexHash(r.gen_index, salt)) ||
              r.expiry_unix_ts_s !== issued.get(toHex(r.gen_index_hash)),
          )
          .map((r) => r.gen_index),
        [],
        "each revocation has its gen index's salted hash and the expiry its proof was issued with",
      );

      const after = runtime(db);
      t.equal(after.next_gen_index - before.next_gen_index, n, `${n} gen indexes taken`);
      t.equal(after.ticket - before.ticket, n - 1, `the ticket moved once per revocation`);
    });
  },
);

t.test('no client saw "database is locked", and no process logged an internal error', async (t) => {
  t.ok(answers.length >= 50 + 200 + STACK_DAYS.length + 20, `${answers.length} answers checked`);
  t.same(
    answers.filter((a) => a.status !== 200 && a.status !== 400),
    [],
    'every answer is a 200 or a 400',
  );
  t.same(
    answers.filter((a) => /locked|busy/i.test(a.body)),
    [],
    'no answer mentions a lock',
  );
  t.same(backend.event('internal_error'), []);
  t.notMatch(backend.transcript(), /database is locked|SQLITE_BUSY/i);
});
