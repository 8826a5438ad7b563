import t from 'tap';
import { addPaymentBody, proofSignatureIsValid } from '../../src/client/index.ts';
import { toHex } from '../../src/protocol/index.ts';
import { DAY, freshKeys, NOON, testApp } from '../support/app.ts';

const ACTIVATION = NOON + DAY / 2; // day_ceil of noon

t.test('redeeming a witnessed payment answers a proof that verifies', async (t) => {
  const { post, witness, ledger, backendPkey } = await testApp();
  const keys = freshKeys();
  const body = addPaymentBody(keys, witness(30));
  const reply = await post('/add_payment', body);
  t.equal(reply.status, 200);
  t.equal(reply.body.status, 200);
  const proof = reply.body.result;
  t.same(Object.keys(proof), ['expiry_unix_ts_s', 'gen_index_hash', 'rotating_pkey', 'sig', 'version']);
  t.equal(proof.version, 0);
  t.equal(proof.rotating_pkey, body.rotating_pkey);
  t.equal(proof.expiry_unix_ts_s, ACTIVATION + 30 * DAY + DAY);
  t.equal(proof.gen_index_hash, toHex(ledger.genIndexHash(0)));
  t.ok(proofSignatureIsValid(proof, backendPkey));
});

t.test('hex in upper case is accepted', async (t) => {
  const { post, witness } = await testApp();
  const body = addPaymentBody(freshKeys(), witness(30));
  const upper = Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v.toUpperCase() : v]),
  );
  const reply = await post('/add_payment', upper);
  t.equal(reply.status, 200);
  t.equal(reply.body.result.rotating_pkey, body.rotating_pkey, 'answered in lower case');
});

t.test('a redeemed token cannot be redeemed twice', async (t) => {
  const { post, witness } = await testApp();
  const token = witness(30);
  t.equal((await post('/add_payment', addPaymentBody(freshKeys(), token))).status, 200);
  const again = await post('/add_payment', addPaymentBody(freshKeys(), token));
  t.same(again, { status: 400, body: { msg: ['payment_token was already redeemed'], status: 400 } });
});

t.test('a token never witnessed is refused', async (t) => {
  const { post } = await testApp();
  const reply = await post('/add_payment', addPaymentBody(freshKeys(), new Uint8Array(32).fill(9)));
  t.same(reply, { status: 400, body: { msg: ['payment_token was never witnessed'], status: 400 } });
});

t.test('a signature that does not verify is refused and the token stays redeemable', async (t) => {
  const { post, witness, ledger } = await testApp();
  const token = witness(30);
  const body = addPaymentBody(freshKeys(), token);
  const other = addPaymentBody(freshKeys(), token);
  const reply = await post('/add_payment', { ...body, rotating_sig: other.rotating_sig });
  t.same(reply.body, { msg: ['rotating_sig does not verify against rotating_pkey'], status: 400 });
  t.equal(ledger.stats().unredeemedPayments, 1);
  t.equal((await post('/add_payment', body)).status, 200);
});

t.test('both bad signatures are listed', async (t) => {
  const { post, witness } = await testApp();
  const body = addPaymentBody(freshKeys(), witness(30));
  const other = addPaymentBody(freshKeys(), witness(30));
  const reply = await post('/add_payment', {
    ...body,
    master_sig: other.master_sig,
    rotating_sig: other.rotating_sig,
  });
  t.same(reply.body.msg, [
    'master_sig does not verify against master_pkey',
    'rotating_sig does not verify against rotating_pkey',
  ]);
});

t.test('equal master and rotating keys are refused', async (t) => {
  const { post, witness } = await testApp();
  const seed = freshKeys().masterSeed;
  const body = addPaymentBody({ masterSeed: seed, rotatingSeed: seed }, witness(30));
  const reply = await post('/add_payment', body);
  t.equal(reply.status, 400);
  t.same(reply.body.msg, [
    'master_pkey and rotating_pkey must differ',
    'master_sig and rotating_sig must differ',
  ]);
});

t.test('equal signatures are refused, and the one that does not verify is named', async (t) => {
  const { post, witness } = await testApp();
  const body = addPaymentBody(freshKeys(), witness(30));
  const reply = await post('/add_payment', { ...body, rotating_sig: body.master_sig });
  t.same(reply.body.msg, [
    'master_sig and rotating_sig must differ',
    'rotating_sig does not verify against rotating_pkey',
  ]);
});

t.test('a small-order master key is refused; its signature is not checked', async (t) => {
  const { post, witness } = await testApp();
  const body = addPaymentBody(freshKeys(), witness(30));
  const reply = await post('/add_payment', { ...body, master_pkey: '01' + '00'.repeat(31) });
  // The hash covers master_pkey, so the rotating signature no longer verifies either.
  t.same(reply.body.msg, [
    'master_pkey is a point of small order',
    'rotating_sig does not verify against rotating_pkey',
  ]);
});

t.test('a non-canonical rotating key is refused; its signature is not checked', async (t) => {
  const { post, witness } = await testApp();
  const body = addPaymentBody(freshKeys(), witness(30));
  const reply = await post('/add_payment', { ...body, rotating_pkey: 'ed' + 'ff'.repeat(30) + '7f' });
  t.same(reply.body.msg, [
    'rotating_pkey is not a canonical point encoding',
    'master_sig does not verify against master_pkey',
  ]);
});

t.test('a version other than 0 is refused', async (t) => {
  const { post, witness } = await testApp();
  const body = addPaymentBody(freshKeys(), witness(30));
  const reply = await post('/add_payment', { ...body, version: 1 });
  t.same(reply.body, { msg: ['version must be 0'], status: 400 });
});

t.test('stacking a second payment answers a proof under a new gen index and revokes the old', async (t) => {
  const { post, witness, ledger, clock } = await testApp();
  const keys = freshKeys();
  const first = await post('/add_payment', addPaymentBody(keys, witness(30)));
  clock.now += 3 * DAY;
  const second = await post('/add_payment', addPaymentBody(keys, witness(60)));
  t.equal(second.status, 200);
  t.equal(second.body.result.gen_index_hash, toHex(ledger.genIndexHash(1)));
  t.equal(second.body.result.expiry_unix_ts_s, ACTIVATION + 90 * DAY + DAY);
  const revocations = await post('/get_revocations', { version: 0, ticket: 0 });
  t.same(revocations.body.result, {
    list: [{ expiry_unix_ts_s: first.body.result.expiry_unix_ts_s, gen_index_hash: first.body.result.gen_index_hash }],
    ticket: 1,
    version: 0,
  });
});

t.test('the vector request, signed by the reference client, redeems', async (t) => {
  const { vectors } = await import('../support/vectors.ts');
  const { post, ledger } = await testApp();
  const v = vectors.add_payment;
  ledger.witness(Buffer.from(v.payment_token, 'hex') as never, 30);
  const reply = await post('/add_payment', {
    version: v.version,
    master_pkey: v.master_pkey,
    rotating_pkey: v.rotating_pkey,
    payment_token: v.payment_token,
    master_sig: v.master_sig,
    rotating_sig: v.rotating_sig,
  });
  t.equal(reply.status, 200);
  t.equal(reply.body.result.rotating_pkey, v.rotating_pkey);
});
