import t from 'tap';
import type { Ledger } from '../../src/ledger/index.ts';
import { genIndexHash, toHex } from '../../src/protocol/index.ts';
import {
  buy,
  D,
  everything,
  H,
  insertRevocation,
  M0,
  masterKey,
  memoryLedger,
  payment,
  paymentRows,
  paymentToken,
  revocationRows,
  runtimeRow,
  subscriberRows,
} from './helpers.ts';

/**
 * One subscriber with two payments: 30 days redeemed at M0 + 1h (active from M0 + D, runs out at
 * M0 + 31 D), then 7 days redeemed at M0 + 2 D + 1h (created M0 + 3 D, stacked). Gen index 1,
 * expiry M0 + 39 D, (0, M0 + 32 D) revoked, ticket 1.
 */
function stackedSubscriber() {
  const setup = memoryLedger(M0 + H);
  buy(setup.ledger, masterKey(1), paymentToken(1), 30);
  setup.at(M0 + 2 * D + H);
  buy(setup.ledger, masterKey(1), paymentToken(2), 7);
  return setup;
}

t.test('an active payment is kept until the midnight it runs out', async (t) => {
  const { ledger, at } = stackedSubscriber();
  at(M0 + 30 * D + H);
  const before = everything(ledger) as { runtime: object };

  const outcome = ledger.prune(M0 + 30 * D);

  t.same(outcome, {
    kind: 'pruned',
    report: {
      midnight: M0 + 30 * D,
      paymentsDeleted: 0,
      handOvers: 0,
      subscribersDeleted: 0,
      revocationsDeleted: 0,
    },
  });
  t.same(everything(ledger), {
    ...before,
    runtime: { ...before.runtime, last_prune_unix_ts_s: M0 + 30 * D },
  });
});

t.test('at the midnight a payment runs out, the stacked one takes over from then', async (t) => {
  const { ledger, at } = stackedSubscriber();
  // The prune runs three hours late: the hand-over still happens at the midnight itself.
  at(M0 + 31 * D + 3 * H);

  const outcome = ledger.prune(M0 + 31 * D);

  t.same(outcome, {
    kind: 'pruned',
    report: {
      midnight: M0 + 31 * D,
      paymentsDeleted: 1,
      handOvers: 1,
      subscribersDeleted: 0,
      revocationsDeleted: 0,
    },
  });
  t.same(paymentRows(ledger), [
    payment(masterKey(1), paymentToken(2), 7, M0 + 3 * D, M0 + D + 30 * D),
  ]);
  t.same(subscriberRows(ledger), [[toHex(masterKey(1)), 1, M0 + 39 * D]], 'same gen index, expiry');
  t.same(revocationRows(ledger), [[0, M0 + 32 * D]], 'no revocation added');
  t.equal(ledger.currentTicket(), 1, 'the ticket is unchanged');
  t.equal(runtimeRow(ledger).next_gen_index, 2, 'no gen index taken');
  t.equal(runtimeRow(ledger).last_prune_unix_ts_s, M0 + 31 * D);
});

t.test('after missed midnights each payment takes over when the previous ran out', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  // Subscriber 1 stacks 10, 5, 20 and 3 days, one redemption a day.
  buy(ledger, masterKey(1), paymentToken(1), 10); // active M0 + D, ends M0 + 11 D; expiry M0 + 12 D
  at(M0 + D + H);
  buy(ledger, masterKey(1), paymentToken(2), 5); // created M0 + 2 D; expiry M0 + 17 D
  at(M0 + 2 * D + H);
  buy(ledger, masterKey(1), paymentToken(3), 20); // created M0 + 3 D; expiry M0 + 37 D
  at(M0 + 3 * D + H);
  buy(ledger, masterKey(1), paymentToken(4), 3); // created M0 + 4 D; expiry M0 + 40 D
  buy(ledger, masterKey(2), paymentToken(5), 30); // active M0 + 4 D; expiry M0 + 35 D
  t.same(revocationRows(ledger), [
    [0, M0 + 12 * D],
    [1, M0 + 17 * D],
    [2, M0 + 37 * D],
  ]);
  t.equal(ledger.currentTicket(), 3);

  // The server was down from M0 + 5 D and starts at M0 + 23 D + 1h: the prune for M0 + 23 D.
  at(M0 + 23 * D + H);
  const outcome = ledger.prune(M0 + 23 * D);

  // The 10 days ran out at M0 + 11 D, the 5 days at M0 + 16 D; the 20 days run M0 + 16 D to 36 D.
  t.same(outcome, {
    kind: 'pruned',
    report: {
      midnight: M0 + 23 * D,
      paymentsDeleted: 2,
      handOvers: 2,
      subscribersDeleted: 0,
      revocationsDeleted: 2,
    },
  });
  t.same(paymentRows(ledger), [
    payment(masterKey(1), paymentToken(3), 20, M0 + 3 * D, M0 + 16 * D),
    payment(masterKey(1), paymentToken(4), 3, M0 + 4 * D, null),
    payment(masterKey(2), paymentToken(5), 30, M0 + 4 * D, M0 + 4 * D),
  ]);
  t.same(subscriberRows(ledger), [
    [toHex(masterKey(1)), 3, M0 + 40 * D],
    [toHex(masterKey(2)), 4, M0 + 35 * D],
  ]);
  t.same(revocationRows(ledger), [[2, M0 + 37 * D]]);
  t.ok(ledger.currentTicket() > 3, 'the ticket increases with the revocations deleted');
});

t.test('a subscriber whose last payment ran out keeps its row until its expiry', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 10); // active M0 + D, ends M0 + 11 D, expiry M0 + 12 D

  at(M0 + 11 * D + H);
  t.same(ledger.prune(M0 + 11 * D), {
    kind: 'pruned',
    report: {
      midnight: M0 + 11 * D,
      paymentsDeleted: 1,
      handOvers: 0,
      subscribersDeleted: 0,
      revocationsDeleted: 0,
    },
  });
  t.same(paymentRows(ledger), []);
  t.same(ledger.subscriber(masterKey(1)), {
    genIndex: 0,
    genIndexHash: genIndexHash(0, ledger.salt),
    expiryUnixTsS: M0 + 12 * D,
  });

  at(M0 + 12 * D + H);
  t.same(ledger.prune(M0 + 12 * D), {
    kind: 'pruned',
    report: {
      midnight: M0 + 12 * D,
      paymentsDeleted: 0,
      handOvers: 0,
      subscribersDeleted: 1,
      revocationsDeleted: 0,
    },
  });
  t.equal(ledger.subscriber(masterKey(1)), undefined);
  t.same(revocationRows(ledger), [], 'an expired subscriber is not revoked');
  t.equal(ledger.currentTicket(), 0);
});

t.test('a prune long after every payment ran out clears the subscriber entirely', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 10); // expiry M0 + 12 D
  at(M0 + D + H);
  buy(ledger, masterKey(1), paymentToken(2), 5); // expiry M0 + 17 D; (0, M0 + 12 D) revoked

  at(M0 + 40 * D + H);
  const outcome = ledger.prune(M0 + 40 * D);

  t.same(outcome, {
    kind: 'pruned',
    report: {
      midnight: M0 + 40 * D,
      paymentsDeleted: 2,
      handOvers: 1,
      subscribersDeleted: 1,
      revocationsDeleted: 1,
    },
  });
  t.same(paymentRows(ledger), []);
  t.same(subscriberRows(ledger), []);
  t.same(revocationRows(ledger), []);
  t.ok(ledger.currentTicket() > 1);
});

t.test('revocations expiring at or before the midnight are deleted, later ones kept', async (t) => {
  const { ledger, at } = memoryLedger(M0 + H);
  buy(ledger, masterKey(1), paymentToken(1), 10); // active M0 + D; expiry M0 + 12 D
  at(M0 + D + H);
  buy(ledger, masterKey(1), paymentToken(2), 10); // expiry M0 + 22 D; (0, M0 + 12 D) revoked
  at(M0 + 2 * D + H);
  buy(ledger, masterKey(1), paymentToken(3), 10); // expiry M0 + 32 D; (1, M0 + 22 D) revoked
  const ticketBefore = ledger.currentTicket();

  at(M0 + 12 * D + H);
  const outcome = ledger.prune(M0 + 12 * D);

  t.same(outcome, {
    kind: 'pruned',
    report: {
      midnight: M0 + 12 * D,
      paymentsDeleted: 1,
      handOvers: 1,
      subscribersDeleted: 0,
      revocationsDeleted: 1,
    },
  });
  const snapshot = ledger.revocations();
  t.ok(snapshot.ticket > ticketBefore, 'the ticket increases');
  t.equal(snapshot.ticket, ledger.currentTicket());
  t.same(
    snapshot.list.map((r) => [toHex(r.genIndexHash), r.expiryUnixTsS]),
    [[toHex(genIndexHash(1, ledger.salt)), M0 + 22 * D]],
  );
  t.same(paymentRows(ledger).slice(0, 2), [
    payment(masterKey(1), paymentToken(2), 10, M0 + 2 * D, M0 + 11 * D),
    payment(masterKey(1), paymentToken(3), 10, M0 + 3 * D, null),
  ]);
});

t.test('a second prune for the same midnight does nothing', async (t) => {
  const { ledger, at } = stackedSubscriber();
  at(M0 + 31 * D + H);
  ledger.prune(M0 + 31 * D);
  // Rows the first run would have deleted, appearing afterwards: the second run must not look.
  insertRevocation(ledger, 99, M0 + 30 * D);
  ledger.db.prepare('UPDATE payments SET activation_unix_ts_s = ?').run(M0 + 20 * D);
  const before = everything(ledger);

  t.same(ledger.prune(M0 + 31 * D), { kind: 'already_done', midnight: M0 + 31 * D });
  t.same(everything(ledger), before);
});

t.test('a prune for an older midnight after a newer one does nothing', async (t) => {
  const { ledger, at } = stackedSubscriber();
  at(M0 + 31 * D + H);
  ledger.prune(M0 + 31 * D);
  insertRevocation(ledger, 99, M0 + 10 * D);
  const before = everything(ledger);

  t.same(ledger.prune(M0 + 30 * D), { kind: 'already_done', midnight: M0 + 30 * D });
  t.same(everything(ledger), before);
  t.equal(runtimeRow(ledger).last_prune_unix_ts_s, M0 + 31 * D);
});

t.test('the next midnight is pruned after the previous one', async (t) => {
  const { ledger, at } = stackedSubscriber();
  at(M0 + 31 * D + H);
  ledger.prune(M0 + 31 * D); // the 7 days run from M0 + 31 D to M0 + 38 D

  at(M0 + 38 * D + H);
  t.equal(ledger.prune(M0 + 37 * D).kind, 'pruned');
  t.same(paymentRows(ledger).length, 1, 'not run out at M0 + 37 D');
  const outcome = ledger.prune(M0 + 38 * D);

  t.same(outcome, {
    kind: 'pruned',
    report: {
      midnight: M0 + 38 * D,
      paymentsDeleted: 1,
      handOvers: 0,
      subscribersDeleted: 0,
      revocationsDeleted: 0,
    },
  });
  t.same(subscriberRows(ledger), [[toHex(masterKey(1)), 1, M0 + 39 * D]]);
  t.equal(runtimeRow(ledger).last_prune_unix_ts_s, M0 + 38 * D);
});

/**
 * The prune for a midnight runs after it, in batches, and may be late. Runs `story` on two fresh
 * ledgers up to `midnight + 1 s`; there one prunes before `op` and the other after it, and both
 * must end with the same tables: an operation meanwhile sees the payments as the prune leaves
 * them. Returns the tables and what `op` returned (as JSON) or threw in each order.
 */
function pruneBeforeAndAfter(
  story: (ledger: Ledger, at: (t: number) => void) => void,
  midnight: number,
  op: (ledger: Ledger) => unknown,
) {
  const run = (pruneFirst: boolean) => {
    const { ledger, at } = memoryLedger(M0 + H);
    story(ledger, at);
    at(midnight + 1);
    if (pruneFirst) ledger.prune(midnight);
    let result: unknown;
    try {
      // Each ledger has its own salt, so gen index hashes differ; gen indexes are compared.
      const returned = op(ledger);
      const withoutHashes = (k: string, v: unknown) => (k === 'genIndexHash' ? undefined : v);
      result = JSON.parse(JSON.stringify(returned, withoutHashes));
    } catch (error) {
      result = { threw: (error as { code?: string }).code };
    }
    if (!pruneFirst) ledger.prune(midnight);
    return { result, tables: everything(ledger) };
  };
  return { pruneFirst: run(true), opFirst: run(false) };
}

t.test('a redemption before the prune does not stack behind a payment that ran out', async (t) => {
  // 1 day active from M0 + D runs out at M0 + 2 D; 30 more days are redeemed 1 s later.
  const { pruneFirst, opFirst } = pruneBeforeAndAfter(
    (ledger) => buy(ledger, masterKey(1), paymentToken(1), 1),
    M0 + 2 * D,
    (ledger) => buy(ledger, masterKey(1), paymentToken(2), 30),
  );
  t.same(opFirst, pruneFirst);
  t.match(opFirst.result, { genIndex: 1, expiryUnixTsS: M0 + 34 * D });
  t.same(opFirst.tables, {
    unredeemed: [],
    payments: [payment(masterKey(1), paymentToken(2), 30, M0 + 3 * D, M0 + 3 * D)],
    subscribers: [[toHex(masterKey(1)), 1, M0 + 34 * D]],
    revocations: [[0, M0 + 3 * D]],
    runtime: { next_gen_index: 2, ticket: 1, last_prune_unix_ts_s: M0 + 2 * D },
  });
});

t.test('a redemption after missed prunes finds the expired subscriber gone', async (t) => {
  // Expiry M0 + 3 D; no prune ran until M0 + 5 D.
  const { pruneFirst, opFirst } = pruneBeforeAndAfter(
    (ledger) => buy(ledger, masterKey(1), paymentToken(1), 1),
    M0 + 5 * D,
    (ledger) => buy(ledger, masterKey(1), paymentToken(2), 7),
  );
  t.same(opFirst, pruneFirst);
  t.same(opFirst.tables, {
    unredeemed: [],
    payments: [payment(masterKey(1), paymentToken(2), 7, M0 + 6 * D, M0 + 6 * D)],
    subscribers: [[toHex(masterKey(1)), 1, M0 + 14 * D]],
    revocations: [],
    runtime: { next_gen_index: 2, ticket: 0, last_prune_unix_ts_s: M0 + 5 * D },
  });
});

t.test('a refund before the prune sees the hand-over made at midnight', async (t) => {
  // 1 day active, 7 days stacked; the first runs out at M0 + 2 D and the second took over then.
  const story = (ledger: Ledger) => {
    buy(ledger, masterKey(1), paymentToken(1), 1);
    buy(ledger, masterKey(1), paymentToken(2), 7);
  };
  const ended = pruneBeforeAndAfter(story, M0 + 2 * D, (ledger) => ledger.refund(paymentToken(1)));
  t.same(ended.opFirst, ended.pruneFirst);
  t.same(ended.opFirst.result, { threw: 'token_ended' });
  t.same(ended.opFirst.tables.payments, [
    payment(masterKey(1), paymentToken(2), 7, M0 + D, M0 + 2 * D),
  ]);

  const taken = pruneBeforeAndAfter(story, M0 + 2 * D, (ledger) => ledger.refund(paymentToken(2)));
  t.same(taken.opFirst, taken.pruneFirst);
  t.match(taken.opFirst.result, { kind: 'subscriber_removed' });
  t.same(taken.opFirst.tables.payments, []);
  t.same(taken.opFirst.tables.subscribers, []);
});
