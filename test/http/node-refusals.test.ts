/**
 * Requests that Node's HTTP server would answer on its own, without a route: each gets the
 * protocol's envelope over real HTTP.
 */
import Database from 'better-sqlite3';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/http/app.ts';
import { Ledger } from '../../src/ledger/index.ts';
import { rawExchange } from '../support/raw-http.ts';
import { NOON } from '../support/app.ts';

const BODY = '{"version":0,"ticket":0}';

async function listening(t: Test, requestTimeoutMs?: number) {
  const ledger = new Ledger(new Database(':memory:'), () => NOON);
  const app = await buildApp({ ledger, ...(requestTimeoutMs ? { requestTimeoutMs } : {}) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  return (app.server.address() as AddressInfo).port;
}

function revocationsRequest(version: string, extraHeaders: string[], body = BODY): Buffer {
  const head = [
    `POST /get_revocations HTTP/${version}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(BODY)}`,
    ...extraHeaders,
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
}

const answers = (exchange: Awaited<ReturnType<typeof rawExchange>>) =>
  exchange.responses.map((r) => [r.status, r.body.toString()]);

t.test('an HTTP/1.1 request without Host gets the 400 envelope and is not run', async (t) => {
  const port = await listening(t);
  const exchange = await rawExchange(port, revocationsRequest('1.1', []));
  t.same(answers(exchange), [
    [400, '{"msg":["the Host header is missing; HTTP/1.1 requires it"],"status":400}'],
  ]);
  t.equal(exchange.responses[0]!.headers['content-type'], 'application/json');
  t.ok(exchange.closed, 'the connection is closed');
});

t.test('HTTP/1.0 needs no Host, and HTTP/1.1 with one is served', async (t) => {
  const port = await listening(t);
  const list = '{"result":{"list":[],"ticket":0,"version":0},"status":200}';
  for (const [version, headers] of [
    ['1.0', []],
    ['1.1', ['Host: backend']],
  ] as const) {
    const exchange = await rawExchange(port, revocationsRequest(version, [...headers]));
    t.same(answers(exchange), [[200, list]], `HTTP/${version}`);
  }
});

t.test('an Expect other than 100-continue gets the 417 envelope', async (t) => {
  const port = await listening(t);
  const exchange = await rawExchange(port, revocationsRequest('1.1', ['Host: b', 'Expect: bogus']));
  t.same(answers(exchange), [
    [417, '{"msg":["the only Expect header served is 100-continue"],"status":417}'],
  ]);
  t.ok(exchange.closed, 'the connection is closed');
});

t.test('a request that does not arrive whole in time gets the 408 envelope', async (t) => {
  const port = await listening(t, 300);
  const half = revocationsRequest('1.1', ['Host: b'], BODY.slice(0, 10));
  const sentAt = Date.now();
  const exchange = await rawExchange(port, half, { keepOpen: true, timeoutMs: 20_000 });
  t.same(answers(exchange), [[408, '{"msg":["request was not received in time"],"status":408}']]);
  t.ok(exchange.closed, 'the connection is closed');
  // Node looks for late requests every second here, not every 30 s as by default.
  const tookMs = Date.now() - sentAt;
  t.ok(tookMs < 15_000, `answered ${tookMs} ms after the request began`);
});
