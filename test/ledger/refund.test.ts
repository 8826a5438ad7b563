import t from 'tap';
import { genIndexHash, toHex } from '../../src/protocol/index.ts';
import {
  buy,
  D,
  everything,
  H,
  M0,
  masterKey,
  memoryLedger,
  payment,
  paymentRows,
  paymentToken,
  revocationRows,
  runtimeRow,
  subscriberRows,
  unredeemedRows,
} from './helpers.ts';

/**
 * One subscriber with two payments: 30 days redeemed at M0 + 1h (active from M0 + D, gen index 0,
 * expiry M0 + 32 D), then 7 days redeemed at M0 + 10 D + 2h (created M0 + 11 D, stacked; gen
 * index 1, expiry M0 + 39 D; (0, M0 + 32 D) revoked; ticket 1).
 */
function stackedSubscriber() {
  const setup = memoryLedger(M0 + H);
  buy(setup.ledger, masterKey(1), paymentToken(1), 30);
  setup.at(M0 + 10 * D + 2 * H);
  buy(setup.ledger, masterKey(1), paymentToken(2), 7);
  return setup;
}

t.test('refunding an unredeemed token removes it and nothing else', async (t) => {
  const { ledger } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(3), 30);
  ledger.witness(paymentToken(1), 30);
  ledger.witness(paymentToken(2), 7);
  const before = everything(ledger) as { unredeemed: unknown[] };

  t.same(ledger.refund(paymentToken(1)), { kind: 'unredeemed' });

  t.same(everything(ledger), { ...before, unredeemed: [[toHex(paymentToken(2)), 7 * D]] });
  t.throws(() => ledger.redeem(masterKey(2), paymentToken(1)), { code: 'token_unknown' });
});

t.test('refunding the active payment activates the stacked one at the next midnight', async (t) => {
  const { ledger, at } = stackedSubscriber();
  at(M0 + 12 * D + 60);

  const outcome = ledger.refund(paymentToken(1));

  // The stacked payment activates at day_ceil(M0 + 12 D + 60) = M0 + 13 D; expiry adds 7 D + D.
  t.same(outcome, {
    kind: 'rekeyed',
    masterPkey: masterKey(1),
    entitlement: {
      genIndex: 2,
      genIndexHash: genIndexHash(2, ledger.salt),
      expiryUnixTsS: M0 + 21 * D,
    },
  });
  t.same(paymentRows(ledger), [
    payment(masterKey(1), paymentToken(2), 7, M0 + 11 * D, M0 + 13 * D),
  ]);
  t.same(subscriberRows(ledger), [[toHex(masterKey(1)), 2, M0 + 21 * D]]);
  t.same(revocationRows(ledger), [
    [0, M0 + 32 * D],
    [1, M0 + 39 * D],
  ]);
  t.equal(ledger.currentTicket(), 2);
});

t.test('refunding the active payment at midnight activates the next one then', async (t) => {
  const { ledger, at } = stackedSubscriber();
  at(M0 + 12 * D);

  ledger.refund(paymentToken(1));

  t.same(paymentRows(ledger), [
    payment(masterKey(1), paymentToken(2), 7, M0 + 11 * D, M0 + 12 * D),
  ]);
  t.same(subscriberRows(ledger), [[toHex(masterKey(1)), 2, M0 + 20 * D]]);
});

t.test('refunding a stacked payment keeps the active one and shortens the expiry', async (t) => {
  const { ledger, at } = stackedSubscriber();
  at(M0 + 12 * D + 60);

  const outcome = ledger.refund(paymentToken(2));

  // The active payment keeps M0 + D; expiry = M0 + D + 30 D + D.
  t.same(outcome, {
    kind: 'rekeyed',
    masterPkey: masterKey(1),
    entitlement: {
      genIndex: 2,
      genIndexHash: genIndexHash(2, ledger.salt),
      expiryUnixTsS: M0 + 32 * D,
    },
  });
  t.same(paymentRows(ledger), [payment(masterKey(1), paymentToken(1), 30, M0 + D, M0 + D)]);
  t.same(subscriberRows(ledger), [[toHex(masterKey(1)), 2, M0 + 32 * D]]);
  t.same(revocationRows(ledger), [
    [0, M0 + 32 * D],
    [1, M0 + 39 * D],
  ]);
  t.equal(ledger.currentTicket(), 2);
});

t.test('refunding the earlier of two stacked payments leaves the later one stacked', async (t) => {
  const { ledger, at } = stackedSubscriber();
  at(M0 + 11 * D + H);
  buy(ledger, masterKey(1), paymentToken(3), 1);
  at(M0 + 12 * D + 60);

  const outcome = ledger.refund(paymentToken(2));

  // Gen index 2 came with the third payment; expiry = M0 + D + (30 + 1) D + D.
  t.same(outcome, {
    kind: 'rekeyed',
    masterPkey: masterKey(1),
    entitlement: {
      genIndex: 3,
      genIndexHash: genIndexHash(3, ledger.salt),
      expiryUnixTsS: M0 + 33 * D,
    },
  });
  t.same(paymentRows(ledger), [
    payment(masterKey(1), paymentToken(1), 30, M0 + D, M0 + D),
    payment(masterKey(1), paymentToken(3), 1, M0 + 12 * D, null),
  ]);
  t.same(revocationRows(ledger), [
    [0, M0 + 32 * D],
    [1, M0 + 39 * D],
    [2, M0 + 40 * D],
  ]);
  t.equal(ledger.currentTicket(), 3);
});

t.test("refunding a subscriber's only payment deletes the subscriber and revokes it", async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 30);
  buy(ledger, masterKey(2), paymentToken(2), 7);
  at(M0 + 5 * D + H);

  const outcome = ledger.refund(paymentToken(1));

  t.same(outcome, { kind: 'subscriber_removed', masterPkey: masterKey(1) });
  t.equal(ledger.subscriber(masterKey(1)), undefined);
  t.same(subscriberRows(ledger), [[toHex(masterKey(2)), 1, M0 + 9 * D]], 'others stay');
  t.same(paymentRows(ledger), [payment(masterKey(2), paymentToken(2), 7, M0 + D, M0 + D)]);
  t.same(revocationRows(ledger), [[0, M0 + 32 * D]]);
  t.equal(ledger.currentTicket(), 1);
  t.equal(runtimeRow(ledger).next_gen_index, 2, 'no gen index is taken');
});

t.test('a refunded token is spent: refunding, redeeming or witnessing it again is refused', async (t) => {
  const { ledger } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 30);
  ledger.refund(paymentToken(1));
  const before = everything(ledger);

  t.throws(() => ledger.refund(paymentToken(1)), {
    code: 'token_ended',
    message: 'payment token was redeemed, but its payment has already ended or been refunded',
  });
  t.throws(() => ledger.redeem(masterKey(1), paymentToken(1)), { code: 'token_redeemed' });
  t.throws(() => ledger.witness(paymentToken(1), 30), { code: 'token_redeemed' });
  t.same(everything(ledger), before);
});

t.test('refunding a token that is not known is refused and changes nothing', async (t) => {
  const { ledger } = stackedSubscriber();
  ledger.witness(paymentToken(3), 30);
  const before = everything(ledger);

  t.throws(() => ledger.refund(paymentToken(9)), { name: 'LedgerError', code: 'token_unknown' });
  t.same(everything(ledger), before);
  t.same(unredeemedRows(ledger), [[toHex(paymentToken(3)), 30 * D]]);
});

t.test('a subscriber can redeem again after its only payment was refunded', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 30);
  ledger.refund(paymentToken(1));
  at(M0 + 3 * D + H);

  const entitlement = buy(ledger, masterKey(1), paymentToken(2), 7);

  // A fresh start: activation day_ceil(M0 + 3 D + 1h) = M0 + 4 D; the deleted row revokes nothing.
  t.same(entitlement, {
    genIndex: 1,
    genIndexHash: genIndexHash(1, ledger.salt),
    expiryUnixTsS: M0 + 12 * D,
  });
  t.same(revocationRows(ledger), [[0, M0 + 32 * D]]);
  t.equal(ledger.currentTicket(), 1);
});
