import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { SINGLE_PROCESS_NOTICE } from '../../src/cluster/single.ts';
import { freePort, groupGone, integrityCheck, request, startBackend } from '../support/harness.ts';

const BODY = JSON.stringify({ version: 0, ticket: 0 });

/**
 * A keep-alive connection that the client never closes. It sends `request`; the promise
 * resolves with everything read once the server closes the connection.
 */
function keepAliveConnection(port: number, request: string) {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  socket.write(request);
  return {
    send: (more: string) => socket.write(more),
    closedByServer: new Promise<string>((resolve) => socket.on('close', () => resolve(received))),
  };
}

/** A request in flight: headers and half the body are sent, the rest when `finish` is called. */
function requestInFlight(port: number) {
  const half = BODY.length >> 1;
  const connection = keepAliveConnection(
    port,
    'POST /get_revocations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${BODY.length}\r\n\r\n${BODY.slice(0, half)}`,
  );
  return { finish: () => connection.send(BODY.slice(half)), reply: connection.closedByServer };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a request in flight at SIGTERM is answered, then every process exits with 0', async (t) => {
  const db = join(t.testdir(), 'backend.db');
  const backend = startBackend(t, { db, port: await freePort(), workers: 2, graceMs: 10_000 });
  await backend.workersListening(2);

  const idle = keepAliveConnection(backend.port, 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const inFlight = requestInFlight(backend.port);
  await sleep(300);
  const sentAt = Date.now();
  process.kill(backend.pid, 'SIGTERM');
  const bothStopping = () => backend.event('worker_stopping').length === 2;
  await backend.waitFor('both workers stopping', bothStopping);
  await sleep(500);
  t.ok(backend.groupAlive(), 'the processes wait for the request');

  inFlight.finish();
  const reply = await inFlight.reply;
  const [head = '', body = ''] = reply.split('\r\n\r\n');
  t.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  t.same(JSON.parse(body), { status: 200, result: { version: 0, ticket: 0, list: [] } });
  const idleReply = await idle.closedByServer;
  t.match(idleReply, /^HTTP\/1\.1 200 OK\r\n/, 'an idle keep-alive connection is closed');

  const exit = await backend.exited;
  t.same({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
  t.ok(exit.atMs - sentAt < 10_000, `stopped ${exit.atMs - sentAt} ms after SIGTERM`);
  await groupGone(backend, 1_000);
  t.equal(integrityCheck(db), 'ok');
});

t.test('a request still in flight after the grace period: exit 1, nothing left', async (t) => {
  const GRACE_MS = 1_500;
  const db = join(t.testdir(), 'backend.db');
  const backend = startBackend(t, { db, port: await freePort(), workers: 2, graceMs: GRACE_MS });
  await backend.workersListening(2);

  const inFlight = requestInFlight(backend.port);
  await sleep(300);
  const sentAt = Date.now();
  process.kill(backend.pid, 'SIGTERM');
  const exit = await backend.exited;
  const took = exit.atMs - sentAt;

  t.equal(exit.code, 1);
  t.ok(took >= GRACE_MS && took < GRACE_MS + 2_000, `exited ${took} ms after SIGTERM`);
  await groupGone(backend, 1_000);
  // The worker cut its connections itself and exited 1; the primary had no worker to kill.
  t.match(backend.event('shutdown_timeout'), [{ role: 'worker', grace_ms: GRACE_MS }]);
  t.equal(backend.event('shutdown_timeout').length, 1);
  t.same(
    backend.event('worker_stopped').map((l) => [l.code, l.signal]).sort(),
    [
      [0, null],
      [1, null],
    ],
  );
  t.match(backend.event('stopped'), [{ role: 'primary', exit_code: 1 }]);
  t.notMatch(await inFlight.reply, /^HTTP\/1\.1 200/, 'the unfinished request got no answer');
  t.equal(integrityCheck(db), 'ok');
});

t.test('with a grace period of 0, an idle server still stops cleanly with 0', async (t) => {
  const db = join(t.testdir(), 'backend.db');
  const backend = startBackend(t, {
    db,
    port: await freePort(),
    workers: 2,
    graceMs: 0,
  });
  await backend.workersListening(2);
  t.equal((await request(backend.port, '/health')).status, 200);

  process.kill(backend.pid, 'SIGTERM');
  const exit = await backend.exited;
  t.same({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
  t.same(backend.event('shutdown_timeout'), []);
  t.same(
    backend.event('worker_stopped').map((l) => l.code),
    [0, 0],
  );
  await groupGone(backend, 1_000);
});

t.test('workers signalled just before the primary, as pm2 stops a process tree: exit 0', async (t) => {
  // pm2 signals the children first, then the primary. A worker already on its way out must not
  // be killed by the primary's own request to stop (it was, for pauses of 3-15 ms).
  for (const pauseMs of [0, 2, 4, 6, 8, 11, 15]) {
    const db = join(t.testdir(), `backend-${pauseMs}.db`);
    const backend = startBackend(t, { db, port: await freePort(), workers: 2 });
    const workers = await backend.workersListening(2);
    for (const pid of workers) process.kill(pid, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    process.kill(backend.pid, 'SIGINT');
    const exit = await backend.exited;
    t.same({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `${pauseMs} ms`);
    // Whether a worker is gone before the primary's signal or after it, its exit is a stop.
    const stops = backend
      .event('worker_stopped')
      .filter((line) => workers.includes(line.worker_pid as number))
      .map((line) => [line.worker_pid, line.code, line.signal]);
    t.same(
      stops.sort(),
      workers.map((pid) => [pid, 0, null]).sort(),
      `${pauseMs} ms: each worker exited by itself with 0`,
    );
    t.same(backend.event('worker_died'), [], `${pauseMs} ms: no worker counted as died`);
    await groupGone(backend, 1_000);
  }
});

t.test('npm start, a request, Ctrl-C: every process ends, the database is sound', async (t) => {
  const db = join(t.testdir(), 'backend.db');
  const backend = startBackend(t, {
    db,
    port: await freePort(),
    workers: 2,
    command: ['npm', 'start'],
  });
  await backend.workersListening(2);
  t.equal((await request(backend.port, '/health')).status, 200);

  // A terminal's Ctrl-C signals the whole foreground process group.
  const sentAt = Date.now();
  process.kill(-backend.pid, 'SIGINT');
  await groupGone(backend, 5_000);
  const exit = await backend.exited;

  t.comment(`all processes gone ${Date.now() - sentAt} ms after Ctrl-C`);
  // npm, once its script has exited, ends itself by the signal it was sent (status 130).
  t.same({ code: exit.code, signal: exit.signal }, { code: null, signal: 'SIGINT' });
  t.match(backend.event('stopped'), [{ role: 'primary', exit_code: 0 }]);
  t.equal(backend.event('worker_stopped').filter((l) => l.code === 0).length, 2);
  t.equal(integrityCheck(db), 'ok');
});

t.test('an in-memory database runs one process that serves and prunes', async (t) => {
  const backend = startBackend(t, { db: ':memory:', port: await freePort(), workers: 2 });
  const listening = await backend.waitFor('listening', (l) => /Server listening/.test(l.msg ?? ''));

  t.equal(backend.text[0], SINGLE_PROCESS_NOTICE);
  t.equal(listening.pid, backend.pid, 'the process started is the one that serves');
  const prune = await backend.waitFor('prune', (l) => l.event === 'prune');
  t.match(prune, { role: 'single', pid: backend.pid });
  t.same(backend.event('worker_listening'), [], 'no workers');
  t.equal((await request(backend.port, '/health')).status, 200);

  process.kill(backend.pid, 'SIGTERM');
  const exit = await backend.exited;
  t.equal(exit.code, 0);
  await groupGone(backend, 1_000);
});
