import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { MAX_START_FAILURES } from '../../src/cluster/restart-policy.ts';
import { freePort, groupGone, startBackend } from '../support/harness.ts';
import { FOREIGN_REFUSAL, writeForeignDatabase } from '../support/ledger-file.ts';

/** A free loopback port that another server then holds until the test ends. */
async function takenPort(t: Test): Promise<number> {
  const port = await freePort();
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  t.teardown(() => squatter.close());
  return port;
}

t.test('workers that cannot listen stop the cluster with a clear message', async (t) => {
  const port = await takenPort(t);

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
  t.same(backend.stderr, [`error: ${failing[0]?.msg}`], 'and the same reason on stderr');
  t.match(backend.event('stopped'), [{ role: 'primary', exit_code: 1 }]);
});

t.test('the single process (in-memory database) says on stderr why it cannot listen', async (t) => {
  const port = await takenPort(t);

  const backend = startBackend(t, { db: ':memory:', port });
  const exit = await backend.exited;
  t.equal(exit.code, 1);
  const failed = backend.event('start_failed');
  t.match(failed, [{ role: 'single', msg: /^cannot listen: .*EADDRINUSE/ }]);
  t.same(backend.stderr, [`error: ${failed[0]?.msg}`]);
});

t.test('a listen address that does not resolve stops start-up, naming the variable', async (t) => {
  const db = join(t.testdir(), 'backend.db');
  // .invalid never resolves (RFC 6761), so no worker is forked to fail on it.
  const env = { SESH_PRO_BACKEND_HOST: 'no-such-host.invalid' };
  const backend = startBackend(t, { db, port: await freePort(), env });
  const exit = await backend.exited;
  t.equal(exit.code, 2);
  // ENOTFOUND, or EAI_AGAIN where the machine has no resolver at all.
  t.equal(backend.stderr.length, 1);
  t.match(
    backend.stderr[0],
    new RegExp(
      '^error: SESH_PRO_BACKEND_HOST: cannot resolve "no-such-host\\.invalid" ' +
        'to an address to listen on \\((ENOTFOUND|EAI_AGAIN)\\)$',
    ),
  );
  t.same(backend.event('worker_died'), []);
  t.notOk(existsSync(db), 'no database is created for a start that cannot serve');
});

t.test("a listen address not this machine's stops start-up, naming the variable", async (t) => {
  const db = join(t.testdir(), 'backend.db');
  // 192.0.2.0/24 is set aside for documentation (RFC 5737): no machine has it.
  const env = { SESH_PRO_BACKEND_HOST: '192.0.2.1' };
  const backend = startBackend(t, { db, port: await freePort(), env });
  const exit = await backend.exited;
  t.equal(exit.code, 2);
  t.same(backend.stderr, [
    'error: SESH_PRO_BACKEND_HOST: cannot listen on "192.0.2.1": ' +
      'it is not an address of this machine (EADDRNOTAVAIL)',
  ]);
  t.same(backend.event('worker_died'), []);
  t.notOk(existsSync(db), 'no database is created for a start that cannot serve');
});

t.test('an argument the server does not take stops it before it opens anything', async (t) => {
  const db = join(t.testdir(), 'backend.db');
  const backend = startBackend(t, {
    db,
    port: await freePort(),
    command: [process.execPath, '--import', 'tsx', 'src/main.ts', '--print-table'],
  });
  const exit = await backend.exited;
  t.equal(exit.code, 2);
  t.same(backend.stderr, [
    'error: unknown argument "--print-table"; the server takes only --print-tables',
  ]);
  t.same(backend.logs, []);
  t.notOk(existsSync(db));
});

t.test("another program's database stops start-up and is left as it was", async (t) => {
  // With no schema version, and with one that the ledger also uses.
  for (const userVersion of [0, 2]) {
    const db = join(t.testdir(), `notes-${userVersion}.db`);
    writeForeignDatabase(db, userVersion);
    const before = readFileSync(db);
    const backend = startBackend(t, { db, port: await freePort() });
    const exit = await backend.exited;
    t.equal(exit.code, 1);
    t.match(backend.event('database_unavailable'), [{ msg: `cannot open ${db}: ${FOREIGN_REFUSAL}` }]);
    t.same(backend.stderr, [`error: cannot open ${db}: ${FOREIGN_REFUSAL}`]);
    t.ok(readFileSync(db).equals(before), `v${userVersion}: not a byte changed`);
    t.same(backend.event('worker_listening'), []);
  }
});
