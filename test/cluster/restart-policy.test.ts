import t from 'tap';
import {
  MAX_RESTART_DELAY_MS,
  MAX_START_FAILURES,
  RestartPolicy,
  STABLE_UPTIME_MS,
} from '../../src/cluster/restart-policy.ts';

const died = (slot: number, listeningSinceMs: number | undefined, atMs: number) => ({
  slot,
  listeningSinceMs,
  atMs,
});

t.test('a worker that keeps dying is restarted after 100 ms, doubling up to 10 s', async (t) => {
  const policy = new RestartPolicy();
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    const decision = policy.died(died(0, 1_000, 2_000));
    t.equal(decision.kind, 'restart');
    if (decision.kind === 'restart') delays.push(decision.delayMs);
  }
  t.same(delays, [100, 200, 400, 800, 1_600, 3_200, 6_400, MAX_RESTART_DELAY_MS, 10_000, 10_000]);
});

t.test('each slot backs off on its own', async (t) => {
  const policy = new RestartPolicy();
  policy.died(died(0, 0, 10));
  policy.died(died(0, 0, 20));
  t.same(policy.died(died(1, 0, 30)), { kind: 'restart', delayMs: 100 });
  t.same(policy.died(died(0, 0, 40)), { kind: 'restart', delayMs: 400 });
});

t.test('a worker that served for a minute before dying restarts at the first delay', async (t) => {
  const policy = new RestartPolicy();
  for (let i = 0; i < 5; i++) policy.died(died(0, 0, 10));
  t.same(policy.died(died(0, 1_000, 1_000 + STABLE_UPTIME_MS)), { kind: 'restart', delayMs: 100 });
  t.same(policy.died(died(0, 0, 10)), { kind: 'restart', delayMs: 200 });
});

t.test('workers that die before listening stop the cluster after five in a row', async (t) => {
  const policy = new RestartPolicy();
  for (let i = 1; i < MAX_START_FAILURES; i++) {
    t.equal(policy.died(died(i % 2, undefined, i)).kind, 'restart', `failure ${i} restarts`);
  }
  t.same(policy.died(died(0, undefined, 99)), { kind: 'give_up', failures: MAX_START_FAILURES });
});

t.test('a worker that listens clears the start-up failures before it', async (t) => {
  const policy = new RestartPolicy();
  for (let i = 1; i < MAX_START_FAILURES; i++) policy.died(died(0, undefined, i));
  policy.listening();
  for (let i = 1; i < MAX_START_FAILURES; i++) {
    t.equal(policy.died(died(0, undefined, i)).kind, 'restart', `failure ${i} after a listen`);
  }
});

t.test('a worker that dies after listening is not a start-up failure', async (t) => {
  const policy = new RestartPolicy();
  for (let i = 1; i < MAX_START_FAILURES; i++) policy.died(died(0, undefined, i));
  t.equal(policy.died(died(1, 50, 60)).kind, 'restart');
  t.equal(policy.died(died(0, undefined, 70)).kind, 'give_up');
});
