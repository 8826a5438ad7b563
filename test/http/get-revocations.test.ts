import t from 'tap';
import { addPaymentBody } from '../../src/client/index.ts';
import { toHex } from '../../src/protocol/index.ts';
import { DAY, freshKeys, testApp } from '../support/app.ts';

async function withRevocations(count: number) {
  const test = await testApp();
  const keys = freshKeys();
  for (let i = 0; i <= count; i++) {
    const reply = await test.post('/add_payment', addPaymentBody(keys, test.witness(30)));
    if (reply.status !== 200) throw new Error('redeem failed');
  }
  return test;
}

t.test('a fresh database has ticket 0 and an empty list', async (t) => {
  const { post } = await testApp();
  const reply = await post('/get_revocations', { version: 0, ticket: 0 });
  t.same(reply, { status: 200, body: { result: { list: [], ticket: 0, version: 0 }, status: 200 } });
});

t.test('a client with an older ticket gets every revocation in ascending gen index order', async (t) => {
  const { post, ledger } = await withRevocations(3);
  const reply = await post('/get_revocations', { version: 0, ticket: 0 });
  const expiries = [31, 61, 91].map((days) => ledger.clock() + DAY / 2 + days * DAY);
  t.same(reply.body.result, {
    list: [0, 1, 2].map((g, i) => ({ expiry_unix_ts_s: expiries[i], gen_index_hash: toHex(ledger.genIndexHash(g)) })),
    ticket: 3,
    version: 0,
  });
});

t.test('a client holding the current ticket gets an empty list', async (t) => {
  const { post } = await withRevocations(2);
  const reply = await post('/get_revocations', { version: 0, ticket: 2 });
  t.same(reply.body.result, { list: [], ticket: 2, version: 0 });
});

t.test('a ticket from another database (higher than the current one) gets the full list', async (t) => {
  const { post } = await withRevocations(2);
  const reply = await post('/get_revocations', { version: 0, ticket: 99 });
  t.equal(reply.body.result.ticket, 2);
  t.equal(reply.body.result.list.length, 2);
});

t.test('the served list follows the ticket when revocations change', async (t) => {
  const test = await withRevocations(1);
  t.equal((await test.post('/get_revocations', { version: 0, ticket: 0 })).body.result.list.length, 1);
  await test.post('/add_payment', addPaymentBody(freshKeys(), test.witness(30)));
  const keys = freshKeys();
  await test.post('/add_payment', addPaymentBody(keys, test.witness(30)));
  await test.post('/add_payment', addPaymentBody(keys, test.witness(30)));
  const reply = await test.post('/get_revocations', { version: 0, ticket: 0 });
  t.equal(reply.body.result.ticket, 2);
  t.equal(reply.body.result.list.length, 2);
});

t.test('a ticket that is not a non-negative integer is refused', async (t) => {
  const { post } = await testApp();
  t.same((await post('/get_revocations', { version: 0, ticket: -1 })).body, {
    msg: ['ticket must be at least 0'],
    status: 400,
  });
  t.same((await post('/get_revocations', { version: 0 })).body, { msg: ['ticket is required'], status: 400 });
  t.same((await post('/get_revocations', { version: 0, ticket: 2 ** 64 })).body.msg, [
    `ticket must be at most ${Number.MAX_SAFE_INTEGER}`,
  ]);
});
