/**
 * Requests that Node's HTTP server would answer on its own, without a route: each gets the
 * protocol's envelope over real HTTP, is not run, and leaves its connection usable.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { addPaymentBody } from '../../src/client/index.ts';
import { buildApp } from '../../src/http/app.ts';
import { Ledger } from '../../src/ledger/index.ts';
import type { PaymentToken } from '../../src/protocol/index.ts';
import { freshKeys, NOON } from '../support/app.ts';
import { rawExchange } from '../support/raw-http.ts';

async function listening(t: Test, requestTimeoutMs?: number) {
  const ledger = new Ledger(new Database(':memory:'), () => NOON);
  const app = await buildApp({ ledger, ...(requestTimeoutMs ? { requestTimeoutMs } : {}) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const witness = () => {
    const token = randomBytes(32) as unknown as PaymentToken;
    ledger.witness(token, 30);
    return token;
  };
  return { port: (app.server.address() as AddressInfo).port, ledger, witness };
}

/** A whole HTTP/`version` request with these extra header lines. */
function post(path: string, body: string, version: string, headers: string[]): string {
  const head = [
    `POST ${path} HTTP/${version}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...headers,
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

const redemption = (token: PaymentToken) => JSON.stringify(addPaymentBody(freshKeys(), token));

/** Sends `requests` on one connection and reads for a while; the server keeps it open. */
const exchange = (port: number, requests: string[]) =>
  rawExchange(port, Buffer.from(requests.join('')), { keepOpen: true, timeoutMs: 1_500 });

const statusOf = (body: Buffer) => (JSON.parse(body.toString()) as { status: number }).status;

/**
 * A redemption sent with `headers` (one that Node would refuse by itself), and a valid one
 * pipelined behind it on the same connection: the first gets `status` and `problem` in the
 * envelope and is not run, the second is answered, and the connection stays open.
 */
async function refusedThenServed(t: Test, headers: string[], status: number, problem: string) {
  const { port, ledger, witness } = await listening(t);
  const reply = await exchange(port, [
    post('/add_payment', redemption(witness()), '1.1', headers),
    post('/add_payment', redemption(witness()), '1.1', ['Host: backend']),
  ]);
  const [first, second] = reply.responses;
  t.equal(first?.status, status);
  t.equal(first?.body.toString(), JSON.stringify({ msg: [problem], status }));
  t.equal(first?.headers['content-type'], 'application/json');
  t.equal(second?.status, 200, 'the request pipelined behind it is answered');
  t.equal(second && statusOf(second.body), 200);
  t.notOk(reply.closed, 'the connection stays open');
  t.equal(ledger.stats().payments, 1, 'only the second redemption ran');
  t.equal(ledger.stats().unredeemedPayments, 1, 'the refused token is still redeemable');
}

t.test('an HTTP/1.1 request without Host gets the 400 envelope and is not run', (t) =>
  refusedThenServed(t, [], 400, 'the Host header is missing; HTTP/1.1 requires it'),
);

t.test('an Expect other than 100-continue gets the 417 envelope and is not run', (t) =>
  refusedThenServed(
    t,
    ['Host: b', 'Expect: bogus'],
    417,
    'the only Expect header served is 100-continue',
  ),
);

t.test('HTTP/1.0 needs no Host', async (t) => {
  const { port, ledger, witness } = await listening(t);
  const request = post('/add_payment', redemption(witness()), '1.0', []);
  const reply = await rawExchange(port, Buffer.from(request));
  t.same(reply.responses.map((r) => r.status), [200]);
  t.equal(ledger.stats().payments, 1);
});

t.test('a request that does not arrive whole in time gets the 408 envelope', async (t) => {
  const { port } = await listening(t, 300);
  const whole = post('/get_revocations', '{"version":0,"ticket":0}', '1.1', ['Host: b']);
  const sentAt = Date.now();
  const reply = await rawExchange(port, Buffer.from(whole.slice(0, -10)), {
    keepOpen: true,
    timeoutMs: 20_000,
  });
  t.same(
    reply.responses.map((r) => [r.status, r.body.toString()]),
    [[408, '{"msg":["request was not received in time"],"status":408}']],
  );
  t.ok(reply.closed, 'the connection is closed');
  // Node looks for late requests every second here, not every 30 s as by default, and the
  // headers timeout no longer outlasts the request timeout.
  const tookMs = Date.now() - sentAt;
  t.ok(tookMs < 15_000, `answered ${tookMs} ms after the request began`);
});
