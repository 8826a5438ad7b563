/**
 * The backend's secret key and the database salt never leave the database: not in logs (at the
 * most verbose level), not in error messages, not in the operator's `info` or table output, not
 * in any response, success or refusal, direct or through the onion. And the database file, with
 * its write-ahead log and shared-memory files, is created readable by its owner only.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import Database from 'better-sqlite3';
import t from 'tap';
import { runCli } from '../../src/cli.ts';
import {
  addPaymentBody,
  buildOnionRequest,
  getProofBody,
  sealOnionPayload,
} from '../../src/client/index.ts';
import { onionKeyPairFromSeed } from '../../src/onion/keys.ts';
import { fixedBytes, fromHex, toHex } from '../../src/protocol/index.ts';
import { freePort, request, startBackend } from '../support/harness.ts';
import { freshKeys } from '../support/app.ts';
import { rawExchange } from '../support/raw-http.ts';

/** Every way a secret could be written out: hex either case, base64 forms, a Buffer's JSON. */
function spellings(bytes: Uint8Array): string[] {
  const buffer = Buffer.from(bytes);
  const base64 = buffer.toString('base64');
  return [
    buffer.toString('hex'),
    buffer.toString('hex').toUpperCase(),
    base64,
    base64.replace(/=+$/, ''),
    buffer.toString('base64url'),
    [...buffer].join(','),
  ];
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

t.test("the secret key and salt appear nowhere; the database is the owner's alone", async (t) => {
  // A common umask, under which files are world-readable unless their creator says otherwise.
  const umask = process.umask(0o022);
  t.teardown(() => void process.umask(umask));
  const dir = mkdtempSync(join(tmpdir(), 'sesh-secrets-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = join(dir, 'backend.db');
  const env = { ...process.env, SESH_PRO_BACKEND_DB_PATH: dbPath };

  // The server creates the database.
  const backend = startBackend(t, {
    db: dbPath,
    port: await freePort(),
    workers: 2,
    env: { SESH_PRO_BACKEND_LOG_LEVEL: 'trace' },
  });
  await backend.workersListening(2);
  const port = backend.port;

  const runtime = (() => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return db.prepare('SELECT backend_seed, salt FROM runtime').get() as {
        backend_seed: Buffer;
        salt: Buffer;
      };
    } finally {
      db.close();
    }
  })();
  const seed = fixedBytes(new Uint8Array(runtime.backend_seed), 32);
  const secrets: [string, Uint8Array][] = [
    ['backend key seed', seed],
    ['salt', runtime.salt],
    ['onion X25519 secret key', onionKeyPairFromSeed(seed).secretKey],
    ['expanded backend key', createHash('sha512').update(seed).digest()],
  ];

  // Everything anyone outside the database could see.
  const seen: string[] = [];
  const cli = (...argv: string[]) => {
    const status = runCli(
      argv,
      env,
      (line) => seen.push(line),
      (line) => seen.push(line),
    );
    seen.push(`exit ${status}`);
    return status;
  };
  const post = async (path: string, body: unknown) => {
    const reply = await request(port, path, body);
    seen.push(reply.body);
    return reply;
  };

  // The operator: witnessing, refusals, figures, every table, help.
  const tokens = [1, 2, 3].map(() => crypto.getRandomValues(new Uint8Array(32)));
  for (const token of tokens) t.equal(cli('witness', toHex(token), '30'), 0);
  t.equal(cli('witness', 'zz', '30'), 2, 'a bad token is refused as a usage error');
  t.equal(cli('witness', toHex(tokens[0]!), '-1'), 2, 'bad days are refused');
  t.equal(cli('witness', toHex(tokens[0]!), '30'), 1, 'a token witnessed twice is refused');
  t.equal(
    cli('refund', toHex(crypto.getRandomValues(new Uint8Array(32)))),
    1,
    'an unknown refund is refused',
  );
  t.equal(cli('bogus'), 2);
  t.equal(cli('help'), 0);

  // A client: redemptions, proofs, refusals of every kind.
  const keys = freshKeys();
  t.equal((await post('/add_payment', addPaymentBody(keys, tokens[0]!))).status, 200);
  t.equal((await post('/add_payment', addPaymentBody(keys, tokens[0]!))).status, 400, 'replay');
  const badSig = addPaymentBody(freshKeys(), tokens[1]!);
  badSig.master_sig = `${badSig.master_sig[0] === '0' ? '1' : '0'}${badSig.master_sig.slice(1)}`;
  t.equal((await post('/add_payment', badSig)).status, 400, 'a bad signature');
  const sameKeys = addPaymentBody(
    { masterSeed: keys.masterSeed, rotatingSeed: keys.masterSeed },
    tokens[1]!,
  );
  t.equal((await post('/add_payment', sameKeys)).status, 400, 'master and rotating key equal');
  t.equal(
    (await post('/add_payment', { ...badSig, master_pkey: '00'.repeat(32) })).status,
    400,
    'small order',
  );
  t.equal((await post('/add_payment', { version: 0 })).status, 400, 'missing fields');
  t.equal((await post('/add_payment', [1, 2])).status, 400, 'not an object');
  t.equal((await post('/nope', {})).status, 404);
  t.equal((await post('/%zz', {})).status, 400);
  t.equal(
    (await post('/get_revocations', { version: 0, ticket: 0, pad: 'x'.repeat(70_000) })).status,
    413,
  );
  t.equal((await post('/get_pro_subscription_proof', getProofBody(keys))).status, 200);
  t.equal((await post('/get_pro_subscription_proof', getProofBody(keys, 1))).status, 400, 'stale');
  t.equal(
    (await post('/get_pro_subscription_proof', getProofBody(freshKeys()))).status,
    400,
    'no subscription',
  );
  t.equal(
    (await post('/add_payment', addPaymentBody(keys, tokens[1]!))).status,
    200,
    'a second payment',
  );
  t.equal(cli('refund', toHex(tokens[1]!)), 0, 'the operator refunds it');
  const revocations = await post('/get_revocations', { version: 0, ticket: 0 });
  t.ok(JSON.parse(revocations.body).result.list.length >= 2, 'the revocation list has entries');
  seen.push((await request(port, '/health')).body);

  // Through the onion, with the key a client derives from the public backend key.
  const health = JSON.parse((await request(port, '/health')).body);
  const serverKey = fixedBytes(
    ed25519.utils.toMontgomery(fromHex(health.result.backend_pkey, 32)),
    32,
  );
  const onion = async (endpoint: string, body: unknown, encType: 'xchacha20' | 'gcm') => {
    const sealed = buildOnionRequest(
      serverKey,
      {
        method: 'POST',
        endpoint,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      { encType },
    );
    const reply = await rawPost(port, '/oxen/v4/lsrpc', sealed.body);
    const inner = sealed.open(reply.body);
    seen.push(JSON.stringify(inner.headers), inner.body.toString('utf8'));
    return inner.code;
  };
  t.equal(await onion('/add_payment', addPaymentBody(freshKeys(), tokens[2]!), 'gcm'), 200);
  t.equal(await onion('/get_revocations', { version: 0, ticket: 0 }, 'xchacha20'), 200);
  t.equal(await onion('/add_payment', badSig, 'xchacha20'), 400);
  t.equal(await onion('/oxen/v4/lsrpc', {}, 'gcm'), 400, 'nested onion');
  const garbled = sealOnionPayload(serverKey, Buffer.from('not bencode'));
  const garbledReply = await rawPost(port, '/oxen/v4/lsrpc', garbled.body);
  seen.push(Buffer.from(garbled.open(garbledReply.body)).toString('latin1'));
  const broken = [
    Buffer.from('abc'),
    Buffer.concat([
      Buffer.from([0, 0, 0, 0]),
      Buffer.from(`{"ephemeral_key":"${'00'.repeat(32)}"}`),
    ]),
    Buffer.concat([
      Buffer.from([40, 0, 0, 0]),
      Buffer.alloc(40, 7),
      Buffer.from(`{"ephemeral_key":"${'11'.repeat(32)}"}`),
    ]),
    Buffer.concat([
      Buffer.from([0, 0, 0, 0]),
      Buffer.from(`{"ephemeral_key":"${'11'.repeat(32)}","enc_type":"rot13"}`),
    ]),
  ];
  for (const body of broken) {
    const reply = await rawPost(port, '/oxen/v4/lsrpc', body);
    t.equal(reply.status, 400, 'a broken envelope is refused');
    seen.push(reply.body.toString('latin1'));
  }
  const raw = await rawExchange(port, Buffer.from('GARBAGE\r\n\r\n'));
  seen.push(...raw.responses.map((r) => r.body.toString('latin1')));

  // The operator's views, now that there is something in every table.
  t.equal(cli('info'), 0);
  t.equal(cli('info', '--json'), 0);
  t.equal(cli('--print-tables'), 0);

  // The database files, as the server created them.
  for (const suffix of ['', '-wal', '-shm']) {
    t.equal(mode(dbPath + suffix), '600', `backend.db${suffix} is readable by its owner only`);
  }

  // A clean stop writes its own log lines too.
  process.kill(backend.pid, 'SIGTERM');
  t.equal((await backend.exited).code, 0, 'the cluster stopped cleanly');
  seen.push(backend.transcript());

  const haystack = seen.join('\n');
  // The capture works: public values, verbose log lines and the figures are all in it.
  t.ok(
    haystack.includes(health.result.backend_pkey),
    'the backend public key was seen (capture works)',
  );
  t.ok(haystack.includes('Backend public key:'), 'the info figures were seen');
  t.ok(
    backend.logs.some((line) => line.level <= 20),
    'debug or trace lines were logged',
  );
  t.ok(backend.event('payment_redeemed').length >= 3, 'redemptions were logged');
  for (const [name, secret] of secrets) {
    const found = spellings(secret).filter((spelling) => haystack.includes(spelling));
    t.same(found, [], `the ${name} appears in no log, output or response`);
  }
});

t.test('a database the CLI creates is readable by its owner only', async (t) => {
  const umask = process.umask(0o022);
  t.teardown(() => void process.umask(umask));
  const dir = mkdtempSync(join(tmpdir(), 'sesh-secrets-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = join(dir, 'nested', 'backend.db');
  const lines: string[] = [];
  const token = toHex(crypto.getRandomValues(new Uint8Array(32)));
  const status = runCli(
    ['witness', token, '1'],
    { SESH_PRO_BACKEND_DB_PATH: dbPath },
    (l) => lines.push(l),
    (l) => lines.push(l),
  );
  t.equal(status, 0, lines.join('\n'));
  t.equal(mode(dbPath), '600');
});

/** A POST of raw bytes (the onion body), answered with status and bytes. */
async function rawPost(
  port: number,
  path: string,
  body: Buffer,
): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    body: new Uint8Array(body),
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}
