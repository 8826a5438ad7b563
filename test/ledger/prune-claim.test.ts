import t from 'tap';
import { PRUNE_CLAIM_S, type Ledger } from '../../src/ledger/index.ts';
import {
  buy,
  D,
  everything,
  H,
  M0,
  masterKey,
  memoryLedger,
  paymentRows,
  paymentToken,
  runtimeRow,
} from './helpers.ts';

/** Ten days redeemed at M0 + 1h: runs out at M0 + 11 D, the midnight every test prunes. */
const T = M0 + 11 * D;

function dueAtT() {
  const setup = memoryLedger(M0 + H);
  buy(setup.ledger, masterKey(1), paymentToken(1), 10);
  return setup;
}

/** What another process writes when it claims the prune of `midnight` until `until`. */
function claimElsewhere(ledger: Ledger, midnight: number, until: number): void {
  ledger.db
    .prepare('UPDATE runtime SET prune_claim_unix_ts_s = ?, prune_claim_until_ts_s = ?')
    .run(midnight, until);
}

t.test('a midnight another process has claimed is left to it', async (t) => {
  const { ledger, at } = dueAtT();
  at(T + 60);
  claimElsewhere(ledger, T, T + 60 + PRUNE_CLAIM_S);
  const before = everything(ledger);

  t.same(ledger.prune(T), {
    kind: 'claimed_elsewhere',
    midnight: T,
    claimedUntil: T + 60 + PRUNE_CLAIM_S,
  });
  t.same(everything(ledger), before);
  t.equal(paymentRows(ledger).length, 1, 'the payment that ran out is still there');
});

t.test('a claim that lapsed is taken over', async (t) => {
  const { ledger, at } = dueAtT();
  at(T + 60);
  claimElsewhere(ledger, T, T + 59);

  const outcome = ledger.prune(T);

  t.equal(outcome.kind, 'pruned');
  t.same(paymentRows(ledger), []);
  t.equal(runtimeRow(ledger).last_prune_unix_ts_s, T);
});

t.test('a claim abandoned by a process that died is taken over once it lapses', async (t) => {
  const { ledger, at } = dueAtT();
  at(T + 60);
  claimElsewhere(ledger, T, T + 60 + PRUNE_CLAIM_S);
  t.equal(ledger.prune(T).kind, 'claimed_elsewhere');

  at(T + 61 + PRUNE_CLAIM_S);
  const outcome = ledger.prune(T);

  t.same(outcome, {
    kind: 'pruned',
    report: {
      midnight: T,
      paymentsDeleted: 1,
      handOvers: 0,
      subscribersDeleted: 0,
      revocationsDeleted: 0,
    },
  });
  t.equal(runtimeRow(ledger).last_prune_unix_ts_s, T);
});

t.test('a finished prune leaves no claim behind and is not run again', async (t) => {
  const { ledger, at } = dueAtT();
  at(T + 60);
  ledger.prune(T);

  const until = ledger.db.prepare('SELECT prune_claim_until_ts_s FROM runtime').pluck().get();
  t.ok((until as number) <= T + 60, 'the claim no longer keeps anyone away');
  t.same(ledger.prune(T), { kind: 'already_done', midnight: T });
});
