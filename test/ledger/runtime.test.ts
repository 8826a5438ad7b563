import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import t from 'tap';
import {
  Ledger,
  openDatabase,
  SCHEMA_VERSION,
  SchemaTooNewError,
} from '../../src/ledger/index.ts';
import { toHex } from '../../src/protocol/index.ts';
import { buy, D, H, M0, masterKey, memoryLedger, paymentToken, runtimeRow } from './helpers.ts';

/** A fresh directory for database files, removed when the test ends. */
function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function fileLedger(path: string, now = M0 + H): Ledger {
  return new Ledger(openDatabase({ path, isUri: false }), () => now);
}

t.test('a new ledger starts at gen index 0 and ticket 0, with its own salt and key', async (t) => {
  const first = memoryLedger().ledger;
  const second = memoryLedger().ledger;

  t.same(runtimeRow(first), { next_gen_index: 0, ticket: 0, last_prune_unix_ts_s: 0 });
  t.equal(first.salt.length, 16);
  t.equal(first.backendKey.publicKey.length, 32);
  t.not(toHex(first.salt), toHex(second.salt), 'each database makes its own salt');
  t.not(toHex(first.backendKey.publicKey), toHex(second.backendKey.publicKey));
});

t.test('a ledger reopened on the same file keeps its salt, backend key and counters', async (t) => {
  const path = join(tempDir(t), 'ledger.db');
  const first = fileLedger(path);
  buy(first, masterKey(1), paymentToken(1), 30);
  const salt = toHex(first.salt);
  const publicKey = toHex(first.backendKey.publicKey);
  first.close();

  const second = fileLedger(path, M0 + D + H);

  t.equal(toHex(second.salt), salt);
  t.equal(toHex(second.backendKey.publicKey), publicKey);
  t.equal(second.subscriber(masterKey(1))?.expiryUnixTsS, M0 + 32 * D);
  t.equal(buy(second, masterKey(2), paymentToken(2), 7).genIndex, 1, 'the gen index continues');
  second.close();
});

t.test('two ledgers on one file share one state', async (t) => {
  const path = join(tempDir(t), 'ledger.db');
  const a = fileLedger(path, M0 + 11 * D + H);
  const b = fileLedger(path, M0 + 11 * D + H);
  t.teardown(() => {
    a.close();
    b.close();
  });

  t.equal(toHex(b.salt), toHex(a.salt), 'the second process found the first one\'s salt');
  a.witness(paymentToken(1), 10);
  t.throws(() => b.witness(paymentToken(1), 10), { code: 'token_witnessed' });
  b.redeem(masterKey(1), paymentToken(1));
  t.throws(() => a.redeem(masterKey(2), paymentToken(1)), { code: 'token_redeemed' });

  // The payment (active M0 + 12 D) runs out at M0 + 22 D; one process prunes, the other need not.
  t.equal(a.prune(M0 + 22 * D).kind, 'pruned');
  t.same(b.prune(M0 + 22 * D), { kind: 'already_done', midnight: M0 + 22 * D });
  t.equal(b.stats().payments, 0);
});

t.test('the schema version is recorded in user_version', async (t) => {
  const { ledger } = memoryLedger();

  t.equal(ledger.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const tables = ledger.db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .pluck()
    .all();
  t.same(tables, [
    'payments',
    'redeemed_payment_tokens',
    'revocations',
    'runtime',
    'subscribers',
    'unredeemed_payments',
  ]);
});

t.test('a schema 1 database keeps its redeemed tokens spent after the upgrade', async (t) => {
  const path = join(tempDir(t), 'old.db');
  const old = fileLedger(path);
  buy(old, masterKey(1), paymentToken(1), 30);
  old.witness(paymentToken(2), 7);
  // What schema 1 looked like: no record of redeemed tokens beside the payments.
  old.db.exec('DROP TABLE redeemed_payment_tokens');
  old.db.pragma('user_version = 1');
  old.close();

  const upgraded = fileLedger(path, M0 + 40 * D + H);
  t.teardown(() => upgraded.close());
  t.equal(upgraded.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const spent = upgraded.db
    .prepare('SELECT hex(payment_token) AS token, redeemed_unix_ts_s FROM redeemed_payment_tokens')
    .all();
  t.same(spent, [{ token: toHex(paymentToken(1)).toUpperCase(), redeemed_unix_ts_s: M0 + D }]);
  upgraded.prune(M0 + 40 * D);
  t.throws(() => upgraded.witness(paymentToken(1), 30), { code: 'token_redeemed' });
  t.doesNotThrow(() => upgraded.redeem(masterKey(2), paymentToken(2)), 'a witnessed token still redeems');
});

t.test('a database written by a newer release is refused untouched', async (t) => {
  const db = new Database(':memory:');
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);

  t.throws(() => new Ledger(db), SchemaTooNewError);
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION + 1);
  t.same(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all(), []);
});

t.test('the database file is created readable by its owner only', async (t) => {
  const path = join(tempDir(t), 'new', 'dir', 'ledger.db');
  // With no umask the mode can only come from the code that creates the file.
  const umask = process.umask(0);
  t.teardown(() => process.umask(umask));

  const ledger = fileLedger(path);
  buy(ledger, masterKey(1), paymentToken(1), 30);

  t.equal(statSync(path).mode & 0o777, 0o600);
  t.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'and so is its write-ahead log');
  ledger.close();
});

t.test('an empty file made for the ledger by someone else is kept to its owner first', async (t) => {
  const path = join(tempDir(t), 'ledger.db');
  writeFileSync(path, '');
  chmodSync(path, 0o644);

  const ledger = fileLedger(path);
  t.equal(statSync(path).mode & 0o777, 0o600, 'before the backend key is written into it');
  t.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'and so is its write-ahead log');
  ledger.close();
});

t.test('a folder that cannot be made is an error, not a hang', async (t) => {
  // Node 20's mkdirSync(..., { recursive: true }) loops for ever on this one.
  t.throws(() => openDatabase({ path: '/proc/nope/ledger.db', isUri: false }), { code: 'ENOENT' });
});

t.test('of many processes redeeming one token at once, exactly one succeeds', async (t) => {
  const path = join(tempDir(t), 'ledger.db');
  const ledger = fileLedger(path);
  ledger.witness(paymentToken(1), 30);
  ledger.close();

  const ledgerModule = fileURLToPath(new URL('../../src/ledger/index.ts', import.meta.url));
  const start = Date.now() + 2_000;
  const script = `
    const { Ledger, openDatabase } = await import(${JSON.stringify(ledgerModule)});
    const [path, start, n] = process.argv.slice(1);
    const master = new Uint8Array(32).fill(0xaa);
    new DataView(master.buffer).setUint32(0, Number(n));
    const token = new Uint8Array(32).fill(0x77);
    new DataView(token.buffer).setUint32(0, 1);
    const ledger = new Ledger(openDatabase({ path, isUri: false }));
    while (Date.now() < Number(start));
    try {
      console.log(JSON.stringify({ ok: ledger.redeem(master, token).genIndex }));
    } catch (error) {
      console.log(JSON.stringify({ code: error.code ?? String(error) }));
    }
  `;
  const run = promisify(execFile);
  const results = await Promise.all(
    [1, 2, 3, 4, 5, 6].map(async (n) => {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, path, String(start), String(n)],
        { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
      );
      return JSON.parse(stdout) as { ok?: number; code?: string };
    }),
  );

  t.same(
    results.map((r) => r.ok ?? r.code).sort(),
    [0, 'token_redeemed', 'token_redeemed', 'token_redeemed', 'token_redeemed', 'token_redeemed'],
  );
  const check = fileLedger(path);
  t.equal(check.stats().payments, 1);
  t.equal(check.stats().subscribers, 1);
  check.close();
});
