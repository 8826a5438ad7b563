/**
 * The onion route on the full server app: every route answers through it exactly as directly.
 */
import Database from 'better-sqlite3';
import t from 'tap';
import { addPaymentBody, getProofBody } from '../../src/client/index.ts';
import { buildOnionRequest } from '../../src/client/onion.ts';
import { decrypt, parseEnvelope, serverSymmetricKey } from '../../src/onion/envelope.ts';
import { onionKeyPairFromSeed } from '../../src/onion/keys.ts';
import { Ledger } from '../../src/ledger/index.ts';
import { fromHex, type PaymentToken } from '../../src/protocol/index.ts';
import { buildServerApp } from '../../src/server.ts';
import { DAY, freshKeys, NOON } from '../support/app.ts';
import { vectors } from '../support/vectors.ts';

/** A server whose backend key is the vectors' backend key, on a fresh in-memory ledger. */
async function vectorServer() {
  const clock = { now: NOON };
  const db = new Database(':memory:');
  new Ledger(db);
  db.prepare('UPDATE runtime SET backend_seed = ?').run(Buffer.from(vectors.keys.backend_seed, 'hex'));
  const ledger = new Ledger(db, () => clock.now);
  const app = await buildServerApp(ledger, { logLevel: 'silent' });
  const x25519 = onionKeyPairFromSeed(ledger.backendKey.exportSeed());
  return { app, ledger, clock, x25519 };
}

type Server = Awaited<ReturnType<typeof vectorServer>>;

async function direct(server: Server, url: string, payload: object) {
  const reply = await server.app.inject({ method: 'POST', url, payload });
  return { code: reply.statusCode, body: reply.body, type: reply.headers['content-type'] };
}

async function viaOnion(server: Server, url: string, payload: object, encType: 'xchacha20' | 'gcm') {
  const onion = buildOnionRequest(
    server.x25519.publicKey,
    { method: 'POST', endpoint: url, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) },
    { encType },
  );
  const reply = await server.app.inject({ method: 'POST', url: '/oxen/v4/lsrpc', payload: onion.body });
  if (reply.statusCode !== 200) throw new Error(`onion answered ${reply.statusCode}: ${reply.body}`);
  const inner = onion.open(reply.rawPayload);
  return { code: inner.code, body: inner.body.toString(), type: inner.headers['content-type'] };
}

t.test('the vector onion request to a fresh server answers exactly the vector reply', async (t) => {
  const server = await vectorServer();
  for (const vector of vectors.onion_v4) {
    const reply = await server.app.inject({
      method: 'POST',
      url: '/oxen/v4/lsrpc',
      payload: Buffer.from(vector.request, 'hex'),
    });
    t.equal(reply.statusCode, 200);
    t.equal(reply.headers['content-type'], 'application/octet-stream');
    // The reply's nonce is fresh; open it with the key the vector's client holds.
    const key = serverSymmetricKey(server.x25519, parseEnvelope(Buffer.from(vector.request, 'hex')));
    t.equal(Buffer.from(key).toString('hex'), vector.symmetric_key);
    const plaintext = decrypt(parseEnvelope(Buffer.from(vector.request, 'hex')).cipher, key, reply.rawPayload);
    t.equal(Buffer.from(plaintext).toString('latin1'), vector.plaintext_reply, vector.enc_type);
  }
});

for (const encType of ['xchacha20', 'gcm'] as const) {
  t.test(`through the onion (${encType}): redeem, authorise and fetch revocations as directly`, async (t) => {
    const server = await vectorServer();
    const keys = freshKeys();
    const tokens = [1, 2, 3].map(() => {
      const token = fromHex(Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex'), 32);
      server.ledger.witness(token as PaymentToken, 30);
      return token;
    });

    // Redeem one token each way: the proofs differ only by gen index (and so hash and sig).
    const viaRedeem = await viaOnion(server, '/add_payment', addPaymentBody(keys, tokens[0]!), encType);
    t.equal(viaRedeem.code, 200);
    t.equal(viaRedeem.type, 'application/json');
    t.equal(JSON.parse(viaRedeem.body).result.expiry_unix_ts_s, NOON + DAY / 2 + 31 * DAY);
    const directRedeem = await direct(server, '/add_payment', addPaymentBody(keys, tokens[1]!));
    t.equal(JSON.parse(directRedeem.body).result.expiry_unix_ts_s, NOON + DAY / 2 + 61 * DAY);

    // The same signed request answers byte for byte the same both ways.
    const proofRequest = getProofBody(keys, server.clock.now);
    t.same(
      await viaOnion(server, '/get_pro_subscription_proof', proofRequest, encType),
      await direct(server, '/get_pro_subscription_proof', proofRequest),
    );
    for (const ticket of [0, 1]) {
      const request = { version: 0, ticket };
      t.same(
        await viaOnion(server, '/get_revocations', request, encType),
        await direct(server, '/get_revocations', request),
        `ticket ${ticket}`,
      );
    }

    // Refusals arrive encrypted with the same envelope as directly.
    const replay = addPaymentBody(keys, tokens[0]!);
    t.same(await viaOnion(server, '/add_payment', replay, encType), await direct(server, '/add_payment', replay));
    const malformed = { version: 0, ticket: 'x' };
    const inner = await viaOnion(server, '/get_revocations', malformed, encType);
    t.same(inner, { code: 400, body: '{"msg":["ticket must be an integer"],"status":400}', type: 'application/json' });
  });
}
