import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { WORKER_NODE_ARGS } from '../../src/cluster/worker-pool.ts';
import {
  freePort,
  groupGone,
  integrityCheck,
  isAlive,
  request,
  startBackend,
} from '../support/harness.ts';

const GRACE_MS = 5_000;

t.test('two workers serve; a killed worker is replaced; SIGTERM stops every process', async (t) => {
  const db = join(t.testdir(), 'backend.db');
  const backend = startBackend(t, { db, port: await freePort(), workers: 2, graceMs: GRACE_MS });
  const [first, second] = await backend.workersListening(2);

  await t.test('the primary printed the start-up figures before forking', async (t) => {
    t.match(backend.text.join('\n'), /^Database: +.*backend\.db/m);
    t.match(backend.text.join('\n'), /^Backend public key: +[0-9a-f]{64}$/m);
    t.equal(backend.event('cluster_starting')[0]?.pid, backend.pid);
  });

  await t.test('requests are served', async (t) => {
    const health = await request(backend.port, '/health');
    t.equal(health.status, 200);
    const revocations = await request(backend.port, '/get_revocations', { version: 0, ticket: 0 });
    t.same(JSON.parse(revocations.body), {
      status: 200,
      result: { version: 0, ticket: 0, list: [] },
    });
  });

  const procfs = existsSync('/proc/self/cmdline');
  const memoryOptions = 'workers run with the memory options, the primary without them';
  await t.test(memoryOptions, { skip: procfs ? false : 'needs /proc' }, async (t) => {
    const commandLine = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const pid of [first!, second!]) {
      const args = commandLine(pid);
      for (const option of WORKER_NODE_ARGS) t.ok(args.includes(option), `worker ${pid} ${option}`);
    }
    const primary = commandLine(backend.pid);
    t.same(WORKER_NODE_ARGS.filter((option) => primary.includes(option)), []);
  });

  await t.test('a worker killed with SIGKILL is replaced, the service answering', async (t) => {
    process.kill(first!, 'SIGKILL');
    const died = await backend.waitFor('worker_died', (l) => l.event === 'worker_died');
    t.match(died, { worker_pid: first, signal: 'SIGKILL', restart_in_ms: 100, role: 'primary' });

    // Until the replacement listens, the other worker answers every request.
    const replaced = backend.waitFor(
      'a third worker listening',
      () => backend.event('worker_listening').length === 3,
    );
    let replacementListening = false;
    void replaced.then(() => (replacementListening = true), () => {});
    const statuses: number[] = [];
    while (!replacementListening && backend.child.exitCode === null) {
      statuses.push((await request(backend.port, '/health')).status);
    }
    const replacement = await replaced;
    t.ok(statuses.length > 0, `${statuses.length} requests while the worker was being replaced`);
    t.same(statuses.filter((status) => status !== 200), [], 'every one of them answered 200');
    t.equal(replacement.slot, died.slot, 'the replacement takes the dead worker\'s slot');
    t.not(replacement.worker_pid, first);
    t.notOk(isAlive(first!), 'the killed worker is gone');
    t.ok(isAlive(second!), 'the other worker was left alone');
    const after = [];
    for (let i = 0; i < 10; i++) after.push((await request(backend.port, '/health')).status);
    t.same(after, Array(10).fill(200), 'answered after the replacement');
  });

  await t.test('a worker sent SIGTERM alone stops cleanly and is replaced', async (t) => {
    const stopped = backend.waitFor('worker_stopped', (l) => l.event === 'worker_stopped');
    process.kill(second!, 'SIGTERM');
    t.match(await stopped, {
      worker_pid: second,
      code: 0,
      signal: null,
      on: 'SIGTERM',
      restart_in_ms: Number,
      level: 30,
    });
    t.equal(backend.event('worker_died').length, 1, 'only the SIGKILLed worker counts as died');
    await backend.waitFor('a fourth worker listening', () => {
      return backend.event('worker_listening').length === 4;
    });
    t.notOk(isAlive(second!), 'the stopped worker is gone');
    t.equal((await request(backend.port, '/health')).status, 200);
  });

  await t.test('SIGTERM ends every process with exit code 0 within the grace period', async (t) => {
    const workers = backend.event('worker_listening').map((l) => l.worker_pid as number);
    const sentAt = Date.now();
    process.kill(backend.pid, 'SIGTERM');
    const exit = await backend.exited;

    t.same({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
    t.ok(exit.atMs - sentAt < GRACE_MS, `stopped in ${exit.atMs - sentAt} ms`);
    await groupGone(backend, 1_000);
    for (const pid of workers) t.notOk(isAlive(pid), `worker ${pid} is gone`);
    // The two serving now; the one stopped on its own SIGTERM earlier says what it stopped on.
    const stoppedByPrimary = backend.event('worker_stopped').filter((l) => l.on === undefined);
    t.same(stoppedByPrimary.map((l) => l.code), [0, 0]);
    t.match(backend.event('stopped'), [{ exit_code: 0, role: 'primary', pid: backend.pid }]);
    t.equal(integrityCheck(db), 'ok');
  });
});
