/**
 * The full server app (direct and onion routes) while a worker closes it at SIGTERM (closeServer):
 * requests already running are answered, onion ones included; a request that arrives meanwhile
 * over a keep-alive connection is not run and is refused in the protocol's envelope.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import t from 'tap';
import { addPaymentBody } from '../src/client/index.ts';
import { buildOnionRequest } from '../src/client/onion.ts';
import { Ledger } from '../src/ledger/index.ts';
import { onionKeyPairFromSeed } from '../src/onion/keys.ts';
import type { PaymentToken } from '../src/protocol/index.ts';
import { closeServer } from '../src/cluster/shutdown.ts';
import { buildServerApp, CLOSING_REFUSAL } from '../src/server.ts';
import { freshKeys, NOON } from './support/app.ts';
import { parseResponses } from './support/raw-http.ts';

async function listeningServer(dbPath = ':memory:') {
  const ledger = new Ledger(new Database(dbPath), () => NOON);
  const app = await buildServerApp(ledger, { logLevel: 'silent' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const x25519 = onionKeyPairFromSeed(ledger.backendKey.exportSeed());
  return { app, ledger, port, x25519 };
}

/** One TCP connection: bytes go out when asked, everything read comes back once it closes. */
function connection(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  const closed = new Promise<Buffer>((resolve) => {
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
  return { send: (bytes: Buffer | string) => socket.write(bytes), closed };
}

function post(path: string, contentType: string, body: Buffer, headers = {}): Buffer {
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  const head =
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${contentType}\r\n` +
    `${extra.join('')}Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

const json = (body: object) => Buffer.from(JSON.stringify(body));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Time for bytes sent to reach the server, or for closing to have begun. */
const SETTLE_MS = 300;

/** Stops the server as a worker does at SIGTERM, with a grace period no test reaches. */
const shutDown = (server: Awaited<ReturnType<typeof listeningServer>>) =>
  closeServer(server, 10_000, pino({ level: 'silent' }));

t.test('an onion request in flight when the server begins to close is answered', async (t) => {
  const server = await listeningServer();
  const onion = buildOnionRequest(server.x25519.publicKey, {
    method: 'POST',
    endpoint: '/get_revocations',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ version: 0, ticket: 0 }),
  });
  const bytes = post('/oxen/v4/lsrpc', 'application/octet-stream', Buffer.from(onion.body));
  const client = connection(server.port);
  client.send(bytes.subarray(0, bytes.length - 10));
  await sleep(SETTLE_MS);

  const closing = shutDown(server);
  await sleep(SETTLE_MS);
  client.send(bytes.subarray(bytes.length - 10));

  const { responses } = parseResponses(await client.closed);
  t.equal(await closing, 0, 'closed within the grace period');
  t.equal(responses.length, 1);
  t.equal(responses[0]?.status, 200);
  t.equal(responses[0]?.headers['content-type'], 'application/octet-stream');
  const inner = onion.open(responses[0]!.body);
  t.equal(inner.code, 200);
  t.same(JSON.parse(inner.body.toString()), {
    status: 200,
    result: { version: 0, ticket: 0, list: [] },
  });
});

const lateRequest = 'a request that arrives while closing is not run: a 503 envelope, then close';
t.test(lateRequest, async (t) => {
  const dbPath = join(t.testdir(), 'backend.db');
  const server = await listeningServer(dbPath);
  const keys = freshKeys();
  const [first, second] = [randomBytes(32), randomBytes(32)] as unknown as PaymentToken[];
  server.ledger.witness(first!, 30);
  server.ledger.witness(second!, 30);
  const redeem = (token: PaymentToken) =>
    post('/add_payment', 'application/json', json(addPaymentBody(keys, token)));
  const inFlight = redeem(first!);
  const late = redeem(second!);

  const client = connection(server.port);
  client.send(inFlight.subarray(0, inFlight.length - 10));
  await sleep(SETTLE_MS);
  const closing = shutDown(server);
  await sleep(SETTLE_MS);
  // The rest of the first request, and a second one right behind it on the same connection.
  client.send(Buffer.concat([inFlight.subarray(inFlight.length - 10), late]));

  const { responses, leftover } = parseResponses(await client.closed);
  t.equal(await closing, 0, 'closed within the grace period');
  t.same(
    responses.map((r) => r.status),
    [200, 503],
  );
  t.equal(JSON.parse(responses[0]!.body.toString()).result.expiry_unix_ts_s > NOON, true);
  t.same(JSON.parse(responses[1]!.body.toString()), CLOSING_REFUSAL);
  t.same(CLOSING_REFUSAL, {
    msg: ['the server is shutting down and did not run this request; send it again'],
    status: 503,
  });
  t.equal(responses[1]!.headers.connection, 'close');
  t.equal(leftover.length, 0);
  const { redeemedTokens, unredeemedPayments } = new Ledger(new Database(dbPath)).stats();
  t.same({ redeemedTokens, unredeemedPayments }, { redeemedTokens: 1, unredeemedPayments: 1 },
    'the refused request did not run');
});

t.test('a client cannot pass for an onion inner request to be run while closing', async (t) => {
  const dbPath = join(t.testdir(), 'backend.db');
  const server = await listeningServer(dbPath);
  const keys = freshKeys();
  const tokens = [randomBytes(32), randomBytes(32)] as unknown as PaymentToken[];
  for (const token of tokens) server.ledger.witness(token, 30);
  const [inFlight, forged] = tokens.map((token) =>
    post('/add_payment', 'application/json', json(addPaymentBody(keys, token)), {
      'x-session-pro-onion-inner': '1',
    }),
  );

  const client = connection(server.port);
  client.send(inFlight!.subarray(0, inFlight!.length - 10));
  await sleep(SETTLE_MS);
  const closing = shutDown(server);
  await sleep(SETTLE_MS);
  client.send(Buffer.concat([inFlight!.subarray(inFlight!.length - 10), forged!]));

  const { responses } = parseResponses(await client.closed);
  t.equal(await closing, 0);
  t.same(
    responses.map((r) => r.status),
    [200, 503],
  );
  const { redeemedTokens } = new Ledger(new Database(dbPath)).stats();
  t.equal(redeemedTokens, 1, 'the request behind the in-flight one did not run');
});

/** A server with one revocation-list request on it, all but its last 5 bytes sent. */
async function halfSentRequest() {
  const server = await listeningServer();
  const bytes = post('/get_revocations', 'application/json', json({ version: 0, ticket: 0 }));
  const client = connection(server.port);
  client.send(bytes.subarray(0, bytes.length - 5));
  await sleep(SETTLE_MS);
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const finish = () => client.send(bytes.subarray(bytes.length - 5));
  return { server, client, finish, log, lines };
}

t.test('a connection answered since the last idle sweep is not counted as cut off', async (t) => {
  const { server, client, finish, log, lines } = await halfSentRequest();
  // No sweep runs before the deadline: the answered connection is still open when it comes.
  const closing = closeServer(server, 1_000, log, 60_000);
  finish();
  const { responses } = parseResponses(await client.closed);
  t.same(
    responses.map((r) => r.status),
    [200],
  );
  t.equal(await closing, 0, 'a clean stop');
  t.same(lines, [], 'no shutdown_timeout');
});

t.test('with no grace period, a request in flight is cut off at once and reported', async (t) => {
  const { server, client, log, lines } = await halfSentRequest();
  t.equal(await closeServer(server, 0, log), 1);
  t.match(JSON.parse(lines[0]!), { event: 'shutdown_timeout', grace_ms: 0 });
  t.same(parseResponses(await client.closed).responses, []);
});
