import t from 'tap';
import { testApp } from '../support/app.ts';

async function send(payload: string, contentType = 'application/json', url = '/get_revocations') {
  const { app } = await testApp();
  const reply = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });
  return { status: reply.statusCode, body: reply.json() };
}

t.test('a body that is not JSON is a 400 with the envelope', async (t) => {
  t.same(await send('{"version":0,'), { status: 400, body: { msg: ['body is not valid JSON'], status: 400 } });
});

t.test('a JSON body that is not an object is a 400', async (t) => {
  for (const payload of ['[]', '"text"', '5', 'null', 'true']) {
    t.same(await send(payload), { status: 400, body: { msg: ['body must be a JSON object'], status: 400 } }, payload);
  }
});

t.test('an empty body is a 400', async (t) => {
  t.same(await send(''), { status: 400, body: { msg: ['body is empty; send a JSON object'], status: 400 } });
});

t.test('a content type other than JSON is a 415 with the envelope', async (t) => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
    t.same(
      await send('{"version":0,"ticket":0}', type),
      { status: 415, body: { msg: ['Content-Type must be application/json'], status: 415 } },
      type,
    );
  }
});

t.test('a body over 64 KiB is a 413', async (t) => {
  const payload = JSON.stringify({ version: 0, ticket: 0, pad: 'x'.repeat(64 * 1024) });
  t.same(await send(payload), {
    status: 413,
    body: { msg: ["body is larger than this route's limit of 65536 bytes"], status: 413 },
  });
});

t.test('a body just under 64 KiB with unknown fields is answered', async (t) => {
  const base = JSON.stringify({ version: 0, ticket: 0, pad: '' });
  const payload = JSON.stringify({ version: 0, ticket: 0, pad: 'x'.repeat(64 * 1024 - base.length) });
  t.equal(payload.length, 64 * 1024);
  t.equal((await send(payload)).status, 200);
});

t.test('an unknown route is a JSON 404', async (t) => {
  t.same(await send('{}', 'application/json', '/nope'), {
    status: 404,
    body: { msg: ['no route POST /nope'], status: 404 },
  });
  const { app } = await testApp();
  const get = await app.inject({ method: 'GET', url: '/add_payment' });
  t.same(get.json(), { msg: ['no route GET /add_payment; /add_payment takes POST'], status: 404 });
  const withQuery = await app.inject({ method: 'GET', url: '/get_revocations?ticket=0' });
  t.same(withQuery.json(), {
    msg: ['no route GET /get_revocations; /get_revocations takes POST'],
    status: 404,
  });
  const postHealth = await app.inject({ method: 'POST', url: '/health' });
  t.same(postHealth.json(), { msg: ['no route POST /health; /health takes GET'], status: 404 });
  const deleteUnknown = await app.inject({ method: 'DELETE', url: '/nope' });
  t.same(deleteUnknown.json(), { msg: ['no route DELETE /nope'], status: 404 });
});

t.test('every missing field is listed, each by name', async (t) => {
  const { post } = await testApp();
  const reply = await post('/add_payment', {});
  t.equal(reply.status, 400);
  t.same(new Set(reply.body.msg), new Set([
    'version is required',
    'master_pkey is required',
    'rotating_pkey is required',
    'payment_token is required',
    'master_sig is required',
    'rotating_sig is required',
  ]));
});

t.test('wrong types, bad hex and wrong lengths name their fields', async (t) => {
  const { post } = await testApp();
  const reply = await post('/get_pro_subscription_proof', {
    version: '0',
    master_pkey: 'zz'.repeat(32),
    rotating_pkey: 'ab'.repeat(31),
    unix_ts_s: true,
    master_sig: 12,
    rotating_sig: { nested: 'object' },
  });
  t.same(new Set(reply.body.msg), new Set([
    'version must be 0',
    'master_pkey must be 64 hex characters (32 bytes)',
    'rotating_pkey must be 64 hex characters (32 bytes)',
    'unix_ts_s must be an integer',
    'master_sig must be 128 hex characters (64 bytes)',
    'rotating_sig must be 128 hex characters (64 bytes)',
  ]));
});

t.test('prototype keys are ignored like any field the protocol does not list', async (t) => {
  const polluting = '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}';
  t.same(await send(`{"version":0,"ticket":0,${polluting}}`), {
    status: 200,
    body: { result: { list: [], ticket: 0, version: 0 }, status: 200 },
  });
  // A field the body lacks is not found on a prototype the body tried to give it.
  t.same(await send('{"ticket":0,"__proto__":{"version":0}}'), {
    status: 400,
    body: { msg: ['version is required'], status: 400 },
  });
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  t.equal((Object.prototype as Record<string, unknown>).version, undefined);
});

t.test('GET /health answers with the backend public key', async (t) => {
  const { app, backendPkey } = await testApp();
  const reply = await app.inject({ method: 'GET', url: '/health' });
  t.same(reply.json(), { result: { backend_pkey: backendPkey, ok: true }, status: 200 });
});
