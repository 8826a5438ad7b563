import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import t from 'tap';
import { addPaymentBody } from '../src/client/index.ts';
import { runCli } from '../src/cli.ts';
import { Ledger, openDatabase, SCHEMA_VERSION } from '../src/ledger/index.ts';
import { fromHex, publicKeyFromSeed, toHex } from '../src/protocol/index.ts';
import { freshKeys } from './support/app.ts';
import { FOREIGN_REFUSAL, writeForeignDatabase } from './support/ledger-file.ts';

function cli(dbPath: string, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = runCli(argv, { SESH_PRO_BACKEND_DB_PATH: dbPath }, (l) => out.push(l), (l) => err.push(l));
  return { status, out: out.join('\n'), err: err.join('\n') };
}

function tempDb(): string {
  return join(mkdtempSync(join(tmpdir(), 'pro-cli-')), 'nested', 'backend.db');
}

const TOKEN = 'ab'.repeat(32);
/** How the CLI names TOKEN in its output: never the whole hash. */
const TOKEN_LABEL = 'abababab…';
const HINT = '(see: npm run cli -- help)';

t.test('witness records a payment, creating the database owner-only', async (t) => {
  const db = tempDb();
  const r = cli(db, 'witness', TOKEN, '30');
  t.same(r, {
    status: 0,
    out: `witnessed payment ${TOKEN_LABEL} for 30 days`,
    err: `note: created a new database at ${db}`,
  });
  t.equal(statSync(db).mode & 0o777, 0o600);
  t.same(cli(db, 'witness', 'cd'.repeat(32), '1'), {
    status: 0,
    out: 'witnessed payment cdcdcdcd… for 1 day',
    err: '',
  });
  const row = new Database(db).prepare('SELECT duration_s FROM unredeemed_payments').get();
  t.same(row, { duration_s: 30 * 86_400 });
});

t.test('witnessing the same token twice is refused with one line', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '30');
  t.same(cli(db, 'witness', TOKEN.toUpperCase(), '30'), {
    status: 1,
    out: '',
    err: 'error: payment token is already witnessed',
  });
});

t.test('bad arguments are refused with exit status 2', async (t) => {
  const db = tempDb();
  const tokenProblems: [string, string][] = [
    ['ab'.repeat(31), 'a payment token must be 64 hex characters, got 62'],
    [`0x${TOKEN}`, 'a payment token must be 64 hex characters, without a 0x prefix'],
    ['zz'.repeat(32), 'a payment token must be 64 hex characters, and has other characters'],
    ['', 'a payment token must be 64 hex characters, got 0'],
  ];
  for (const [token, problem] of tokenProblems) {
    t.same(cli(db, 'witness', token, '30'), { status: 2, out: '', err: `error: ${problem} ${HINT}` });
    t.same(cli(db, 'refund', token), { status: 2, out: '', err: `error: ${problem} ${HINT}` });
  }
  for (const days of ['0', '-1', '1.5', 'x', '36501', '1e3']) {
    const r = cli(db, 'witness', TOKEN, days);
    t.equal(r.status, 2, days);
    t.equal(r.err, `error: days must be a whole number from 1 to 36500, got "${days}" ${HINT}`);
  }
  t.equal(cli(db, 'witness', TOKEN, '36500').status, 0);
  t.equal(cli(db, 'witness', TOKEN).status, 2);
  t.equal(cli(db, 'nonsense').status, 2);
  t.equal(cli(db).status, 2);
});

t.test('a redeemed token is refused by witness and refunded by refund', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '30');
  const ledger = new Ledger(openDatabase({ path: db, isUri: false }));
  const keys = freshKeys();
  ledger.redeem(publicKeyFromSeed(keys.masterSeed), fromHex(TOKEN, 32));
  ledger.close();
  t.same(cli(db, 'witness', TOKEN, '30').err, 'error: payment token is already redeemed');
  t.same(cli(db, 'refund', TOKEN).out, `refunded ${TOKEN_LABEL}: it was the subscriber's only payment; subscriber removed`);
  t.match(JSON.parse(cli(db, 'info', '--json').out), { payments: 0, redeemed_tokens: 1 });
  t.match(cli(db, 'info').out, /^Redeemed payments: {5}0\nUnredeemed payments: {3}0\nTokens ever redeemed: {2}1$/m);
  t.same(cli(db, 'refund', TOKEN), {
    status: 1,
    out: '',
    err: 'error: payment token was redeemed, but its payment has already ended or been refunded',
  });
});

t.test('refund of an unredeemed token removes it', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '7');
  t.same(cli(db, 'refund', TOKEN).out, `removed unredeemed payment ${TOKEN_LABEL}`);
  t.equal(JSON.parse(cli(db, 'info', '--json').out).unredeemed_payments, 0);
});

t.test('info --json has the figures and no secret', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '30');
  const r = cli(db, 'info', '--json');
  t.equal(r.status, 0);
  const info = JSON.parse(r.out);
  const ledger = new Ledger(openDatabase({ path: db, isUri: false }));
  t.equal(info.backend_pkey, toHex(ledger.backendKey.publicKey));
  t.match(info.backend_x25519_pkey, /^[0-9a-f]{64}$/);
  t.match(info, { ticket: 0, next_gen_index: 0, subscribers: 0, payments: 0, unredeemed_payments: 1, redeemed_tokens: 0, revocations: 0 });
  t.notMatch(r.out, toHex(ledger.backendKey.exportSeed()));
  t.notMatch(r.out, toHex(ledger.salt));
  const text = cli(db, 'info');
  t.match(text.out, `Backend public key:    ${info.backend_pkey}`);
  ledger.close();
});

t.test('info gives the size of the database named by a path or by a URI', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '30');
  // The last connection to close checkpoints the WAL and removes it; its size counts when there.
  const size = statSync(db).size + (existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0);
  t.ok(size > 0);
  t.equal(JSON.parse(cli(db, 'info', '--json').out).db_size_bytes, size);
  const viaUri: string[] = [];
  const env = {
    SESH_PRO_BACKEND_DB_PATH: `file:${db}?mode=rw`,
    SESH_PRO_BACKEND_DB_PATH_IS_URI: '1',
  };
  t.equal(runCli(['info'], env, (l) => viaUri.push(l), () => {}), 0);
  t.match(viaUri.join('\n'), `Database:              file:${db}?mode=rw (${size} bytes)`);
  t.match(viaUri.join('\n'), /^Redeemed payments: {5}0$/m);
  t.match(viaUri.join('\n'), /^Unredeemed payments: {3}1$/m);
});

t.test('--print-tables shows every table readably and never the secrets', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '30');
  const r = cli(db, '--print-tables');
  t.equal(r.status, 0);
  const tables = ['runtime', 'unredeemed_payments', 'payments', 'subscribers', 'revocations'];
  for (const table of [...tables, 'redeemed_payment_tokens']) {
    t.match(r.out, new RegExp(`^${table} \\(\\d+ rows?\\)$`, 'm'), table);
  }
  t.match(r.out, '2592000 (30 days)');
  t.match(r.out, /\d+ \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)/);
  t.match(r.out, TOKEN);
  t.match(r.out, '(secret, 32 bytes)');
  const ledger = new Ledger(openDatabase({ path: db, isUri: false }));
  t.notMatch(r.out, toHex(ledger.backendKey.exportSeed()));
  ledger.close();
  const viaEnv = runCli([], { SESH_PRO_BACKEND_DB_PATH: db, SESH_PRO_BACKEND_PRINT_TABLES: '1' }, () => {}, () => {});
  t.equal(viaEnv, 0);
});

t.test('a flag away from its command is refused and nothing is done', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '30');
  const before = cli(db, '--print-tables').out;
  const cases: [string[], string][] = [
    [['refund', TOKEN, '--print-tables'], 'refund takes <token-hex>'],
    [['witness', '--json', 'cd'.repeat(32), '3'], 'witness takes <token-hex> <days>'],
    [['witness', 'cd'.repeat(32), '3', '--json'], 'witness takes <token-hex> <days>'],
    [['--print-tables', 'refund', TOKEN], '--print-tables takes nothing else'],
    [['info', '--json', '--json'], 'info takes nothing or --json'],
    [['info', '--print-tables'], 'info takes nothing or --json'],
    [['--json', 'info'], 'unknown command "--json"'],
  ];
  for (const [argv, message] of cases) {
    const expected = { status: 2, out: '', err: `error: ${message} ${HINT}` };
    t.same(cli(db, ...argv), expected, argv.join(' '));
  }
  t.equal(cli(db, '--print-tables').out, before, 'the database is as it was');
});

t.test('a flag that npm kept for itself (no -- before it) is refused, not dropped', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '30');
  // What `npm run cli info --json` and `npm run cli --print-tables` hand the CLI.
  const cases: [string[], string, string][] = [
    [['info'], 'json', '--json for itself; put -- before the arguments: npm run cli -- info --json'],
    [[], 'print_tables', '--print-tables for itself; put -- before the arguments: npm run cli -- --print-tables'],
  ];
  for (const [argv, name, message] of cases) {
    const err: string[] = [];
    const npm = { npm_lifecycle_event: 'cli', [`npm_config_${name}`]: 'true' };
    const env = { SESH_PRO_BACKEND_DB_PATH: db, ...npm };
    t.equal(runCli(argv, env, () => {}, (line) => err.push(line)), 2, name);
    t.same(err, [`error: npm kept ${message} ${HINT}`], name);
  }
  // Run otherwise than by `npm run cli`, npm's variables are none of the CLI's business.
  const out: string[] = [];
  const env = { SESH_PRO_BACKEND_DB_PATH: db, npm_config_json: 'true' };
  t.equal(runCli(['info', '--json'], env, (line) => out.push(line), () => {}), 0);
  t.equal(JSON.parse(out.join('\n')).unredeemed_payments, 1);
});

t.test('SESH_PRO_BACKEND_PRINT_TABLES=1 does not stand in for a command given', async (t) => {
  const db = tempDb();
  const env = { SESH_PRO_BACKEND_DB_PATH: db, SESH_PRO_BACKEND_PRINT_TABLES: '1' };
  const out: string[] = [];
  t.equal(runCli(['witness', TOKEN, '3'], env, (l) => out.push(l), () => {}), 0);
  t.same(out, [`witnessed payment ${TOKEN_LABEL} for 3 days`]);
  t.equal(JSON.parse(cli(db, 'info', '--json').out).unredeemed_payments, 1);
});

t.test('only witness creates a missing database; the others name it and create nothing', async (t) => {
  const db = tempDb();
  for (const argv of [['info'], ['info', '--json'], ['refund', TOKEN], ['--print-tables']]) {
    t.same(
      cli(db, ...argv),
      {
        status: 2,
        out: '',
        err:
          `error: no database at ${db}; set SESH_PRO_BACKEND_DB_PATH to the server's database ` +
          `(the server creates one on its first start) ${HINT}`,
      },
      argv.join(' '),
    );
  }
  t.notOk(existsSync(db));
  t.notOk(existsSync(dirname(db)), 'not even its folder');
});

t.test('a database that cannot be used is named in the error, exit status 1', async (t) => {
  const dir = t.testdir({ 'garbage.db': 'not an SQLite file, just text that is long enough' });
  const garbage = join(dir, 'garbage.db');
  t.same(cli(garbage, 'info'), {
    status: 1,
    out: '',
    err: `error: cannot open ${garbage}: file is not a database`,
  });
  // A directory: SQLite alone would say "disk I/O error" to one command and EISDIR to another.
  const onDir = `error: cannot open ${dir}: it is a directory, not a database file`;
  for (const argv of [['witness', TOKEN, '1'], ['info'], ['--print-tables']]) {
    t.same(cli(dir, ...argv), { status: 1, out: '', err: onDir }, argv.join(' '));
  }
});

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

t.test("another program's SQLite file is refused by every command, left as it was", async (t) => {
  const dir = t.testdir();
  // Whatever schema version the other program gave its file: none, one of the ledger's, a newer.
  for (const userVersion of [0, 1, SCHEMA_VERSION, SCHEMA_VERSION + 5]) {
    const db = join(dir, `notes-${userVersion}.db`);
    writeForeignDatabase(db, userVersion);
    const before = sha256(db);
    const refused = `error: cannot open ${db}: ${FOREIGN_REFUSAL}`;
    for (const argv of [['info'], ['--print-tables'], ['refund', TOKEN], ['witness', TOKEN, '30']]) {
      t.same(cli(db, ...argv), { status: 1, out: '', err: refused }, `${argv.join(' ')}, v${userVersion}`);
    }
    t.equal(sha256(db), before, `v${userVersion}: not a byte changed`);
    const after = new Database(db, { readonly: true });
    t.equal(after.pragma('journal_mode', { simple: true }), 'delete', `v${userVersion}: not WAL`);
    after.close();
  }
});

t.test('info and --print-tables only read: no migration, no runtime row, no wait', async (t) => {
  const dir = t.testdir({ 'empty.db': '' });
  t.same(cli(join(dir, 'empty.db'), 'info'), {
    status: 1,
    out: '',
    err:
      `error: cannot open ${join(dir, 'empty.db')}: the database is empty ` +
      '(the server creates its schema on its first start)',
  });
  t.equal(readFileSync(join(dir, 'empty.db')).length, 0, 'still empty');

  // A database of schema 1, as an older server would leave it: read, not upgraded.
  const old = join(dir, 'old.db');
  const v1 = new Database(old);
  v1.exec('CREATE TABLE runtime (id INTEGER PRIMARY KEY); PRAGMA user_version = 1');
  v1.close();
  const r = cli(old, '--print-tables');
  t.equal(r.status, 1);
  t.equal(
    r.err,
    `error: cannot open ${old}: database schema version 1 is older than this release's (2); ` +
      'the server migrates it on its next start',
  );
  const after = new Database(old, { readonly: true });
  t.equal(after.pragma('user_version', { simple: true }), 1);
  after.close();

  // While another connection holds the write lock, info answers at once.
  const live = tempDb();
  cli(live, 'witness', TOKEN, '30');
  const writer = new Database(live);
  writer.exec('BEGIN IMMEDIATE');
  const started = Date.now();
  const info = cli(live, 'info', '--json');
  writer.exec('ROLLBACK');
  writer.close();
  t.equal(info.status, 0);
  t.equal(JSON.parse(info.out).unredeemed_payments, 1);
  t.ok(Date.now() - started < 5_000, 'not held up by the writer (its busy timeout is 15 s)');
});

t.test('a path through a symlink and .. is checked where the kernel takes it', async (t) => {
  const dir = t.testdir({ other: { deep: {} }, link: t.fixture('symlink', 'other/deep') });
  cli(join(dir, 'a.db'), 'witness', TOKEN, '30');
  // dir/link/../a.db is dir/other/a.db to the kernel, which does not exist.
  const through = `${dir}/link/../a.db`;
  t.same(cli(through, 'info'), {
    status: 2,
    out: '',
    err:
      `error: no database at ${through}; set SESH_PRO_BACKEND_DB_PATH to the server's database ` +
      `(the server creates one on its first start) ${HINT}`,
  });
  t.notOk(existsSync(join(dir, 'other', 'a.db')));
});

t.test('help is a command of its own', async (t) => {
  const db = tempDb();
  for (const argv of [['help'], ['--help'], ['-h']]) {
    const r = cli(db, ...argv);
    t.equal(r.status, 0, argv.join(' '));
    t.match(r.out, /^Usage: npm run cli -- <command>/);
  }
  t.same(cli(db, 'help', 'witness'), {
    status: 2,
    out: '',
    err: `error: help takes nothing else ${HINT}`,
  });
  t.same(cli(db, 'witness', TOKEN, '30', '-h'), {
    status: 2,
    out: '',
    err: `error: witness takes <token-hex> <days> ${HINT}`,
  });
  t.notOk(existsSync(db), 'nothing was witnessed');
  // Help needs no configuration, so a bad variable does not hide it.
  t.equal(runCli(['help'], { SESH_PRO_BACKEND_PORT: 'x' }, () => {}, () => {}), 0);
});

t.test('a bad environment value names the variable', async (t) => {
  const err: string[] = [];
  const status = runCli(['info'], { SESH_PRO_BACKEND_PRINT_TABLES: 'yes' }, () => {}, (l) => err.push(l));
  t.equal(status, 2);
  t.same(err, ['error: SESH_PRO_BACKEND_PRINT_TABLES must be 0 or 1, got "yes"']);
});

t.test('the client body for a witnessed token redeems through the ledger the CLI wrote', async (t) => {
  const db = tempDb();
  cli(db, 'witness', TOKEN, '30');
  const body = addPaymentBody(freshKeys(), fromHex(TOKEN, 32));
  t.equal(body.payment_token, TOKEN);
});

t.test("the package's bin names itself in its usage text and hints", async (t) => {
  const bin = fileURLToPath(new URL('../bin/session-pro-backend.js', import.meta.url));
  const db = tempDb();
  const run = (...argv: string[]) =>
    spawnSync(process.execPath, [bin, ...argv], {
      env: { ...process.env, SESH_PRO_BACKEND_DB_PATH: db },
      encoding: 'utf8',
    });
  const help = run('help');
  t.equal(help.status, 0);
  t.match(help.stdout, /^Usage: session-pro-backend <command>\n/);
  const wrong = run('nonsense');
  t.equal(wrong.status, 2);
  t.equal(wrong.stderr, 'error: unknown command "nonsense" (see: session-pro-backend help)\n');
  t.notOk(existsSync(db));
});
