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

t.test('a first redemption activates at the next midnight with expiry end + D', async (t) => {
  const { ledger } = memoryLedger(M0 + H);
  ledger.witness(paymentToken(1), 30);

  const entitlement = ledger.redeem(masterKey(1), paymentToken(1));

  // creation = activation = day_ceil(M0 + 1h) = M0 + D; expiry = M0 + D + 30 D + D.
  t.same(entitlement, {
    genIndex: 0,
    genIndexHash: genIndexHash(0, ledger.salt),
    expiryUnixTsS: M0 + 32 * D,
  });
  t.same(paymentRows(ledger), [payment(masterKey(1), paymentToken(1), 30, M0 + D, M0 + D)]);
  t.same(unredeemedRows(ledger), [], 'the token left the unredeemed payments');
  t.same(subscriberRows(ledger), [[toHex(masterKey(1)), 0, M0 + 32 * D]]);
  t.same(revocationRows(ledger), [], 'a new subscriber revokes nothing');
  t.equal(ledger.currentTicket(), 0, 'the ticket is unchanged');
  t.equal(runtimeRow(ledger).next_gen_index, 1);
});

t.test('a redemption exactly at midnight activates at that midnight', async (t) => {
  const { ledger } = memoryLedger(M0);

  const entitlement = buy(ledger, masterKey(1), paymentToken(1), 30);

  t.equal(entitlement.expiryUnixTsS, M0 + 31 * D);
  t.same(paymentRows(ledger), [payment(masterKey(1), paymentToken(1), 30, M0, M0)]);
});

t.test('a redemption one second after midnight activates at the next midnight', async (t) => {
  const { ledger } = memoryLedger(M0 + 1);

  const entitlement = buy(ledger, masterKey(1), paymentToken(1), 1);

  t.equal(entitlement.expiryUnixTsS, M0 + 3 * D);
  t.same(paymentRows(ledger), [payment(masterKey(1), paymentToken(1), 1, M0 + D, M0 + D)]);
});

t.test('a token that was never witnessed cannot be redeemed', async (t) => {
  const { ledger } = memoryLedger();
  ledger.witness(paymentToken(2), 30);
  const before = everything(ledger);

  t.throws(() => ledger.redeem(masterKey(1), paymentToken(1)), {
    name: 'LedgerError',
    code: 'token_unknown',
  });
  t.same(everything(ledger), before);
  t.equal(ledger.subscriber(masterKey(1)), undefined);
});

t.test('a redeemed token cannot be redeemed twice', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 30);
  at(M0 + 2 * D);
  const before = everything(ledger);

  t.throws(() => ledger.redeem(masterKey(1), paymentToken(1)), { code: 'token_redeemed' });
  t.throws(() => ledger.redeem(masterKey(2), paymentToken(1)), { code: 'token_redeemed' });

  t.same(everything(ledger), before, 'no gen index taken, no revocation, no payment');
  t.equal(ledger.subscriber(masterKey(2)), undefined);
});

t.test('a second payment stacks: not active, expiry extended, old gen index revoked', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 30);
  at(M0 + 10 * D + 2 * H);
  ledger.witness(paymentToken(2), 7);

  const entitlement = ledger.redeem(masterKey(1), paymentToken(2));

  // The first payment activated at M0 + D; expiry = M0 + D + (30 + 7) D + D.
  t.same(entitlement, {
    genIndex: 1,
    genIndexHash: genIndexHash(1, ledger.salt),
    expiryUnixTsS: M0 + 39 * D,
  });
  t.same(paymentRows(ledger), [
    payment(masterKey(1), paymentToken(1), 30, M0 + D, M0 + D),
    payment(masterKey(1), paymentToken(2), 7, M0 + 11 * D, null),
  ]);
  t.same(subscriberRows(ledger), [[toHex(masterKey(1)), 1, M0 + 39 * D]]);
  t.same(revocationRows(ledger), [[0, M0 + 32 * D]], 'the old (gen index, expiry) is revoked');
  t.equal(ledger.currentTicket(), 1);
});

t.test('a third payment stacks on both and revokes the second gen index', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 30);
  at(M0 + 10 * D + 2 * H);
  buy(ledger, masterKey(1), paymentToken(2), 7);
  at(M0 + 20 * D);

  const entitlement = buy(ledger, masterKey(1), paymentToken(3), 365);

  // expiry = M0 + D + (30 + 7 + 365) D + D.
  t.equal(entitlement.genIndex, 2);
  t.equal(entitlement.expiryUnixTsS, M0 + 404 * D);
  t.same(paymentRows(ledger)[2], payment(masterKey(1), paymentToken(3), 365, M0 + 20 * D, null));
  t.same(revocationRows(ledger), [
    [0, M0 + 32 * D],
    [1, M0 + 39 * D],
  ]);
  t.equal(ledger.currentTicket(), 2);
});

t.test('the gen index is one counter shared by every subscriber', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);

  t.equal(buy(ledger, masterKey(1), paymentToken(1), 30).genIndex, 0);
  at(M0 + D + H);
  t.equal(buy(ledger, masterKey(2), paymentToken(2), 7).genIndex, 1);
  at(M0 + 2 * D + H);
  t.equal(buy(ledger, masterKey(1), paymentToken(3), 7).genIndex, 2);

  // The second subscriber's own first payment activated at day_ceil(M0 + D + 1h) = M0 + 2 D.
  t.same(subscriberRows(ledger), [
    [toHex(masterKey(2)), 1, M0 + 10 * D],
    [toHex(masterKey(1)), 2, M0 + 39 * D],
  ]);
  t.same(revocationRows(ledger), [[0, M0 + 32 * D]], 'the other subscriber is not revoked');
  t.equal(runtimeRow(ledger).next_gen_index, 3);
});
