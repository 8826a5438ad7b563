import t from 'tap';
import { PRUNE_BATCH } from '../../src/ledger/index.ts';
import {
  buy,
  D,
  H,
  insertRevocation,
  M0,
  masterKey,
  memoryLedger,
  paymentToken,
  revocationRows,
  subscriberRows,
} from './helpers.ts';

// Over two batches' worth, so that a prune that stopped after one batch (or two) would show.
const SUBSCRIBERS = 2 * PRUNE_BATCH + 500;

t.test('a prune hands over, and then deletes, more payments than fit in one batch', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  // Each subscriber: one day active from M0 + D (expiry M0 + 3 D), ...
  for (let i = 0; i < SUBSCRIBERS; i++) buy(ledger, masterKey(i), paymentToken(2 * i), 1);
  at(M0 + D + H);
  // ... then one more day created at M0 + 2 D (expiry M0 + 4 D; the first gen index revoked).
  for (let i = 0; i < SUBSCRIBERS; i++) buy(ledger, masterKey(i), paymentToken(2 * i + 1), 1);

  at(M0 + 2 * D + H);
  t.same(ledger.prune(M0 + 2 * D), {
    kind: 'pruned',
    report: {
      midnight: M0 + 2 * D,
      paymentsDeleted: SUBSCRIBERS,
      handOvers: SUBSCRIBERS,
      subscribersDeleted: 0,
      revocationsDeleted: 0,
    },
  });
  const activations = ledger.db
    .prepare(
      `SELECT activation_unix_ts_s AS activation, creation_unix_ts_s AS creation, count(*) AS n
       FROM payments GROUP BY 1, 2`,
    )
    .all();
  t.same(activations, [{ activation: M0 + 2 * D, creation: M0 + 2 * D, n: SUBSCRIBERS }]);

  at(M0 + 4 * D + H);
  t.same(ledger.prune(M0 + 4 * D), {
    kind: 'pruned',
    report: {
      midnight: M0 + 4 * D,
      paymentsDeleted: SUBSCRIBERS,
      handOvers: 0,
      subscribersDeleted: SUBSCRIBERS,
      revocationsDeleted: SUBSCRIBERS,
    },
  });
  t.equal(ledger.stats().payments, 0);
  t.same(subscriberRows(ledger), []);
  t.same(revocationRows(ledger), []);
});

t.test('a prune deletes every one of 4500 expired revocations and keeps the rest', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  ledger.db.transaction(() => {
    for (let g = 0; g < 4500; g++) insertRevocation(ledger, g, M0 + (g % 10) * D);
    for (const g of [4500, 4501, 4502]) insertRevocation(ledger, g, M0 + 10 * D);
  })();
  const ticketBefore = ledger.currentTicket();

  at(M0 + 9 * D + H);
  const outcome = ledger.prune(M0 + 9 * D);

  t.same(outcome, {
    kind: 'pruned',
    report: {
      midnight: M0 + 9 * D,
      paymentsDeleted: 0,
      handOvers: 0,
      subscribersDeleted: 0,
      revocationsDeleted: 4500,
    },
  });
  t.same(revocationRows(ledger), [
    [4500, M0 + 10 * D],
    [4501, M0 + 10 * D],
    [4502, M0 + 10 * D],
  ]);
  t.ok(ledger.currentTicket() > ticketBefore, 'the ticket increases');
});
