import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { MAX_START_FAILURES } from '../../src/cluster/restart-policy.ts';
import { freePort, groupGone, startBackend } from '../support/harness.ts';

t.test('workers that cannot listen stop the cluster with a clear message', async (t) => {
  const port = await freePort();
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  t.teardown(() => squatter.close());

  const db = join(t.testdir(), 'backend.db');
  const backend = startBackend(t, { db, port, workers: 2 });
  const exit = await backend.exited;

  t.equal(exit.code, 1);
  await groupGone(backend, 1_000);
  const died = backend.event('worker_died');
  t.equal(died.length, MAX_START_FAILURES - 1, 'restarted until the limit');
  t.same(
    died.map((l) => l.restart_in_ms),
    [100, 100, 200, 200].slice(0, died.length),
    'with backoff per worker slot',
  );
  const failing = backend.event('workers_failing');
  t.equal(failing.length, 1);
  t.match(failing[0]?.msg, /^5 workers in a row died before they could listen \(.*EADDRINUSE.*\)/);
  t.match(backend.event('stopped'), [{ role: 'primary', exit_code: 1 }]);
});
