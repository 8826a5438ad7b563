import t from 'tap';
import { nextWakeMs } from '../../src/cluster/prune-schedule.ts';
import { DAY_S } from '../../src/ledger/index.ts';

/** A UTC midnight (2024-10-04T00:00:00Z). */
const M = 20_000 * DAY_S;

t.test('the timer wakes half a second after the next midnight, at most an hour ahead', async (t) => {
  const pruned = { kind: 'already_done', midnight: M } as const;
  t.equal(nextWakeMs(M + DAY_S - 10, pruned), 10_500);
  t.equal(nextWakeMs(M + DAY_S - 1, undefined), 1_500, 'also after a failed prune');
  t.equal(nextWakeMs(M + 1, pruned), 3_600_000);
});

t.test("another process's claim is retried a second after it lapses", async (t) => {
  const claimed = (claimedUntil: number) =>
    ({ kind: 'claimed_elsewhere', midnight: M, claimedUntil }) as const;
  // A restart 5 s after a prune died: its claim has 115 s to run.
  t.equal(nextWakeMs(M + 100, claimed(M + 215)), 116_000);
  t.equal(nextWakeMs(M + 100, claimed(M + 100)), 1_000, 'a claim lapsing now');
  // A claim that outlasts the hour does not delay the hourly wake.
  t.equal(nextWakeMs(M + 100, claimed(M + 100 + 7_200)), 3_600_000);
  // Nor one that outlasts the next midnight.
  t.equal(nextWakeMs(M + DAY_S - 10, claimed(M + DAY_S + 100)), 10_500);
});
