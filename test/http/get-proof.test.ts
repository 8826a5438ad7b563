import t from 'tap';
import { addPaymentBody, getProofBody, proofSignatureIsValid } from '../../src/client/index.ts';
import { toHex } from '../../src/protocol/index.ts';
import { DAY, freshKeys, NOON, testApp } from '../support/app.ts';

const EXPIRY = NOON + DAY / 2 + 30 * DAY + DAY;

async function subscribed() {
  const test = await testApp();
  const keys = freshKeys();
  const redeemed = await test.post('/add_payment', addPaymentBody(keys, test.witness(30)));
  if (redeemed.status !== 200) throw new Error('redeem failed');
  return { ...test, keys };
}

t.test('a new rotating key gets a proof under the current gen index and expiry', async (t) => {
  const { post, keys, ledger, clock, backendPkey } = await subscribed();
  const next = { masterSeed: keys.masterSeed, rotatingSeed: freshKeys().rotatingSeed };
  const body = getProofBody(next, clock.now);
  const reply = await post('/get_pro_subscription_proof', body);
  t.equal(reply.status, 200);
  t.same(reply.body.result, {
    ...reply.body.result,
    expiry_unix_ts_s: EXPIRY,
    gen_index_hash: toHex(ledger.genIndexHash(0)),
    rotating_pkey: body.rotating_pkey,
    version: 0,
  });
  t.ok(proofSignatureIsValid(reply.body.result, backendPkey));
  t.equal(ledger.stats().nextGenIndex, 1, 'the gen index does not change');
});

t.test('a timestamp more than 300 seconds from the server clock is refused', async (t) => {
  const { post, keys, clock } = await subscribed();
  for (const skew of [301, -301]) {
    const reply = await post('/get_pro_subscription_proof', getProofBody(keys, clock.now + skew));
    t.equal(reply.status, 400);
    t.same(reply.body.msg, [`unix_ts_s is more than 300 seconds from the server clock (${clock.now})`]);
  }
  for (const skew of [300, -300]) {
    const reply = await post('/get_pro_subscription_proof', getProofBody(keys, clock.now + skew));
    t.equal(reply.status, 200, `skew ${skew} is allowed`);
  }
});

t.test('a stale timestamp and a bad signature are listed together', async (t) => {
  const { post, keys, clock } = await subscribed();
  const body = getProofBody(keys, clock.now - 301);
  const other = getProofBody(freshKeys(), clock.now - 301);
  const reply = await post('/get_pro_subscription_proof', { ...body, master_sig: other.master_sig });
  t.same(reply, {
    status: 400,
    body: {
      msg: [
        `unix_ts_s is more than 300 seconds from the server clock (${clock.now})`,
        'master_sig does not verify against master_pkey',
      ],
      status: 400,
    },
  });
});

t.test('an unknown master key is a 400, not a 500', async (t) => {
  const { post, clock } = await subscribed();
  const reply = await post('/get_pro_subscription_proof', getProofBody(freshKeys(), clock.now));
  t.same(reply, {
    status: 400,
    body: { msg: ['master_pkey has no active Session Pro subscription'], status: 400 },
  });
});

t.test('a subscriber whose expiry has passed gets no proof, even before the prune', async (t) => {
  const { post, keys, clock } = await subscribed();
  clock.now = EXPIRY;
  const reply = await post('/get_pro_subscription_proof', getProofBody(keys, clock.now));
  t.same(reply.body.msg, ['master_pkey has no active Session Pro subscription']);
  clock.now = EXPIRY - 1;
  const before = await post('/get_pro_subscription_proof', getProofBody(keys, clock.now));
  t.equal(before.status, 200);
});

t.test('signatures over another timestamp are refused', async (t) => {
  const { post, keys, clock } = await subscribed();
  const body = getProofBody(keys, clock.now);
  const reply = await post('/get_pro_subscription_proof', { ...body, unix_ts_s: clock.now + 1 });
  t.same(reply.body.msg, [
    'master_sig does not verify against master_pkey',
    'rotating_sig does not verify against rotating_pkey',
  ]);
});

t.test('a float or string timestamp is refused by type', async (t) => {
  const { post, keys, clock } = await subscribed();
  const body = getProofBody(keys, clock.now);
  t.same((await post('/get_pro_subscription_proof', { ...body, unix_ts_s: 1.5 })).body.msg, [
    'unix_ts_s must be an integer',
  ]);
  t.same((await post('/get_pro_subscription_proof', { ...body, unix_ts_s: String(clock.now) })).body.msg, [
    'unix_ts_s must be an integer',
  ]);
  t.same((await post('/get_pro_subscription_proof', { ...body, unix_ts_s: -5 })).body.msg, [
    'unix_ts_s must be at least 0',
  ]);
});
