/** Requests pipelined on one connection over real HTTP, where Node's parser sees them. */
import t from 'tap';
import type { AddressInfo } from 'node:net';
import { addPaymentBody } from '../../src/client/index.ts';
import { rawExchange } from '../support/raw-http.ts';
import { freshKeys, testApp } from '../support/app.ts';

function post(path: string, body: string): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

t.test('a pipelined redemption followed by garbage gets its own answer, never a 400 in its place', async (t) => {
  const { app, witness, ledger } = await testApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as AddressInfo).port;
  const body = JSON.stringify(addPaymentBody(freshKeys(), witness(30)));

  const exchange = await rawExchange(
    port,
    Buffer.from(post('/get_revocations', '{"version":0,"ticket":0}') + post('/add_payment', body) + 'GARBAGE\r\n\r\n'),
  );

  t.ok(exchange.closed, 'the connection is closed after the garbage');
  const statuses = exchange.responses.map((r) => r.status);
  t.notOk(statuses.includes(400), 'no 400 stands in for an answer');
  t.same(statuses, [200, 200], 'both requests before the garbage are answered');
  t.equal(JSON.parse(exchange.responses[1]!.body.toString()).status, 200);
  t.equal(ledger.stats().payments, 1);
});

t.test('garbage with no answer pending gets the 400 envelope', async (t) => {
  const { app } = await testApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as AddressInfo).port;
  const exchange = await rawExchange(port, Buffer.from('GARBAGE\r\n\r\n'));
  t.same(
    exchange.responses.map((r) => [r.status, r.body.toString()]),
    [[400, '{"msg":["request is not valid HTTP"],"status":400}']],
  );
});

t.test('a CONNECT request gets the 404 envelope, not a dropped connection', async (t) => {
  const { app } = await testApp();
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as AddressInfo).port;
  for (const target of ['/get_revocations', 'example.com:443']) {
    const exchange = await rawExchange(port, Buffer.from(`CONNECT ${target} HTTP/1.1\r\nHost: x\r\n\r\n`));
    t.same(
      exchange.responses.map((r) => [r.status, r.body.toString()]),
      [[404, `{"msg":["no route CONNECT ${target}"],"status":404}`]],
      target,
    );
    t.ok(exchange.closed, `${target}: the connection is closed`);
  }
});
