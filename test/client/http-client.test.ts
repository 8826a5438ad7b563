import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { ProBackendClient, proofSignatureIsValid } from '../../src/client/index.ts';
import { freshKeys, NOON, testApp } from '../support/app.ts';

async function listening(t: Test) {
  const setup = await testApp();
  await setup.app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => setup.app.close());
  const { port } = setup.app.server.address() as AddressInfo;
  return { ...setup, client: new ProBackendClient(`http://127.0.0.1:${port}`) };
}

t.test('a redemption answers ok with a proof the backend signed', async (t) => {
  const { client, witness, backendPkey } = await listening(t);
  const keys = freshKeys();
  const token = witness(30);

  const reply = await client.addPayment(keys, token);
  t.equal(reply.ok, true);
  if (!reply.ok) return;
  t.equal(reply.status, 200);
  t.equal(reply.result.expiry_unix_ts_s, NOON + 43_200 + 31 * 86_400);
  t.ok(proofSignatureIsValid(reply.result, backendPkey));

  const again = await client.addPayment(keys, token);
  t.same(again, { ok: false, status: 400, msg: ['payment_token was already redeemed'] });
});

t.test('a new rotating key and the revocation list go through the same client', async (t) => {
  const { client, witness, backendPkey } = await listening(t);
  const keys = freshKeys();
  await client.addPayment(keys, witness(7));

  const proof = await client.getProof({ ...keys, rotatingSeed: freshKeys().rotatingSeed }, NOON);
  t.equal(proof.ok && proofSignatureIsValid(proof.result, backendPkey), true);
  t.same(await client.getRevocations(0), {
    ok: true,
    status: 200,
    result: { list: [], ticket: 0, version: 0 },
  });
});

t.test('a reply that is not the envelope is a failure that says so', async (t) => {
  const replies: [number, string][] = [
    [502, '<h1>Bad Gateway</h1>'],
    [200, 'null'],
    [200, '[]'],
    [200, '"x"'],
    [200, '{"status":200}'],
    [400, '{"status":400,"msg":"not a list"}'],
    [200, '{"status":200,"msg":[]}'],
  ];
  let next: [number, string] = replies[0]!;
  const proxy = createServer((_request, response) => {
    response.writeHead(next[0], { 'content-type': 'text/plain' }).end(next[1]);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => proxy.close());
  const { port } = proxy.address() as AddressInfo;
  const client = new ProBackendClient(`http://127.0.0.1:${port}`);
  for (const [status, body] of replies) {
    next = [status, body];
    const problem = `the reply is not the backend's JSON envelope: ${body}`;
    t.same(await client.getRevocations(0), { ok: false, status, msg: [problem] }, body);
  }
});

t.test('a backend that cannot be reached is an error naming the address and why', async (t) => {
  // A port that was free a moment ago: nothing listens there now.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const client = new ProBackendClient(`http://127.0.0.1:${port}`);
  await t.rejects(client.getRevocations(0), {
    message: `cannot reach the backend at http://127.0.0.1:${port}/get_revocations: connect ECONNREFUSED 127.0.0.1:${port}`,
  });
});
