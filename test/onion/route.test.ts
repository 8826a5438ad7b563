import Fastify, { LogController } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import t from 'tap';
import { vectors } from '../support/vectors.ts';
import { buildOnionRequest, sealOnionPayload } from '../../src/client/onion.ts';
import type { EncType } from '../../src/onion/envelope.ts';
import type { InnerMethod } from '../../src/onion/inner.ts';
import { onionKeyPairFromSeed } from '../../src/onion/keys.ts';
import { ONION_BODY_LIMIT, ONION_PATH, onionRoutes } from '../../src/onion/route.ts';
import { fromHex } from '../../src/protocol/bytes.ts';

const server = onionKeyPairFromSeed(fromHex(vectors.backend_x25519.backend_seed, 32));

const JSON_TYPE = 'application/json; charset=utf-8';

/** A bencoded list of text strings, written out independently of src/onion/bencode.ts. */
const list = (...items: string[]) =>
  `l${items.map((item) => `${Buffer.byteLength(item)}:${item}`).join('')}e`;

/** An app shaped like the real one: JSON routes, the error envelope for 404, and the onion. */
async function buildTestApp(logLines: string[] = []) {
  const app = Fastify({
    bodyLimit: 64 * 1024,
    logger: { level: 'info', stream: { write: (line: string) => logLines.push(line) } },
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    return reply.code(404).send({ msg: [`no route ${request.method} ${path}`], status: 404 });
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_r, body, done) =>
    done(null, body),
  );
  app.post('/echo', async (request) => ({ result: request.body, status: 200 }));
  app.post('/reverse', async (request, reply) =>
    reply.type('application/octet-stream').send(Buffer.from(request.body as Buffer).reverse()),
  );
  app.get('/hello', async (_request, reply) => reply.type('text/plain').send('hi'));

  await app.register(onionRoutes, { x25519: server });
  return app;
}

async function postOnion(app: Awaited<ReturnType<typeof buildTestApp>>, body: Buffer,
  headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: ONION_PATH, headers, payload: body });
}

function echoRequest(encType?: EncType) {
  return buildOnionRequest(
    server.publicKey,
    {
      method: 'POST',
      endpoint: '/echo',
      headers: { 'Content-Type': 'application/json' },
      body: '{"ticket":7}',
    },
    encType === undefined ? {} : { encType },
  );
}

const ENC_TYPES: EncType[] = ['xchacha20-poly1305', 'xchacha20', 'aes-gcm', 'gcm'];

for (const encType of ENC_TYPES) {
  t.test(`an inner request runs and its reply comes back encrypted (${encType})`, async (t) => {
    const app = await buildTestApp();
    const onion = echoRequest(encType);

    const response = await postOnion(app, onion.body, { 'content-type': 'text/plain' });
    t.equal(response.statusCode, 200);
    t.equal(response.headers['content-type'], 'application/octet-stream');

    const reply = onion.open(response.rawPayload);
    t.equal(reply.code, 200);
    t.same(reply.headers, { 'content-type': JSON_TYPE });
    t.equal(reply.body.toString('utf8'), '{"result":{"ticket":7},"status":200}');
  });
}

t.test('the reply plaintext is the compact bencoded meta and body', async (t) => {
  const app = await buildTestApp();
  const plaintext = Buffer.from(list(
    '{"method":"POST","endpoint":"/echo","headers":{"Content-Type":"application/json"}}',
    '{"ticket":7}',
  ));
  const sealed = sealOnionPayload(server.publicKey, plaintext, { encType: 'aes-gcm' });

  const response = await postOnion(app, sealed.body);
  t.equal(response.statusCode, 200);
  t.equal(
    Buffer.from(sealed.open(response.rawPayload)).toString('utf8'),
    list(
      '{"code":200,"headers":{"content-type":"application/json; charset=utf-8"}}',
      '{"result":{"ticket":7},"status":200}',
    ),
  );
});

t.test('the envelope is read as bytes whatever its Content-Type', async (t) => {
  const app = await buildTestApp();
  const contentTypes = [
    undefined,
    'application/json',
    'application/octet-stream',
    // Not valid media types, which Fastify would refuse before any parser ran.
    '',
    'binary',
    'application/octet-stream, text/plain',
  ];
  for (const contentType of contentTypes) {
    const onion = echoRequest();
    const headers: Record<string, string> =
      contentType === undefined ? {} : { 'content-type': contentType };

    const response = await postOnion(app, onion.body, headers);
    t.equal(response.statusCode, 200, String(contentType));
    // A refusal is not an encrypted reply: open only a 200, so every type is checked.
    if (response.statusCode === 200) {
      t.equal(onion.open(response.rawPayload).code, 200, String(contentType));
    }
  }
});

t.test('the app outside the onion route keeps its own JSON parsing', async (t) => {
  const app = await buildTestApp();
  const response = await app.inject({ method: 'POST', url: '/echo', payload: { ticket: 1 } });

  t.equal(response.statusCode, 200);
  t.equal(response.body, '{"result":{"ticket":1},"status":200}');
});

t.test('binary bodies pass through both ways, and a bodyless GET works', async (t) => {
  const app = await buildTestApp();
  const binary = Buffer.from([0x00, 0xff, 0x65, 0x3a, 0x6c, 0x80]);
  const onion = buildOnionRequest(server.publicKey, {
    method: 'POST',
    endpoint: '/reverse',
    headers: { 'content-type': 'application/octet-stream' },
    body: binary,
  });

  const reply = onion.open((await postOnion(app, onion.body)).rawPayload);
  t.equal(reply.code, 200);
  t.same(reply.headers, { 'content-type': 'application/octet-stream' });
  t.same(reply.body, Buffer.from(binary).reverse());

  const get = buildOnionRequest(server.publicKey, { method: 'GET', endpoint: '/hello' });
  const hello = get.open((await postOnion(app, get.body)).rawPayload);
  t.same(hello, { code: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('hi') });
});

t.test('inner Content-Length and Host headers are not forwarded', async (t) => {
  const app = await buildTestApp();
  const onion = buildOnionRequest(server.publicKey, {
    method: 'POST',
    endpoint: '/echo',
    headers: { 'Content-Type': 'application/json', 'Content-Length': '999', Host: 'elsewhere' },
    body: '{"ticket":7}',
  });

  const reply = onion.open((await postOnion(app, onion.body)).rawPayload);
  t.equal(reply.code, 200);
  t.equal(reply.body.toString('utf8'), '{"result":{"ticket":7},"status":200}');
});

/** Sends `plaintext` in a valid envelope and returns the opened reply. */
async function sendPlaintext(plaintext: string) {
  const app = await buildTestApp();
  const sealed = sealOnionPayload(server.publicKey, Buffer.from(plaintext, 'latin1'));
  const response = await postOnion(app, sealed.body);
  return { status: response.statusCode, plaintext: Buffer.from(sealed.open(response.rawPayload)) };
}

t.test('a decrypted payload that is not a valid list gets an encrypted 400', async (t) => {
  const { status, plaintext } = await sendPlaintext('l1:a1:b1:ce');
  const body = '{"msg":["payload must be a bencoded list of one or two strings '
    + '(list has more than two elements)"],"status":400}';

  t.equal(status, 200);
  t.equal(
    plaintext.toString('latin1'),
    list('{"code":400,"headers":{"content-type":"application/json"}}', body),
  );
});

t.test('meta without method or with a bad endpoint gets an encrypted 400', async (t) => {
  const { status, plaintext } = await sendPlaintext(list('{"endpoint":"echo"}'));
  const body = '{"msg":["method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",'
    + '"endpoint must be a path starting with \\"/\\""],"status":400}';

  t.equal(status, 200);
  t.equal(
    plaintext.toString('latin1'),
    list('{"code":400,"headers":{"content-type":"application/json"}}', body),
  );
});

async function innerReply(method: InnerMethod, endpoint: string, body?: Buffer) {
  const app = await buildTestApp();
  const onion = buildOnionRequest(server.publicKey, {
    method,
    endpoint,
    headers: { 'content-type': 'application/octet-stream' },
    ...(body === undefined ? {} : { body }),
  });
  const response = await postOnion(app, onion.body);
  t.equal(response.statusCode, 200, `outer status for ${endpoint}`);
  const reply = onion.open(response.rawPayload);
  return { code: reply.code, headers: reply.headers, body: reply.body.toString('utf8') };
}

t.test('an unknown inner endpoint gets an encrypted 404 from the app', async (t) => {
  t.same(await innerReply('POST', '/nowhere?x=1'), {
    code: 404,
    headers: { 'content-type': JSON_TYPE },
    body: '{"msg":["no route POST /nowhere"],"status":404}',
  });
});

t.test('an inner request for the onion route itself is refused', async (t) => {
  const nested = echoRequest().body;
  const refused = {
    code: 400,
    headers: { 'content-type': JSON_TYPE },
    body: '{"msg":["onion requests cannot be nested"],"status":400}',
  };

  t.same(await innerReply('POST', ONION_PATH, nested), refused);
  t.same(await innerReply('POST', `${ONION_PATH}?again=1`, nested), refused);
});

t.test('an envelope that cannot be opened gets a plain 400 and one short log line', async (t) => {
  const lines: string[] = [];
  const app = await buildTestApp(lines);
  const onion = echoRequest();
  const tampered = Buffer.from(onion.body);
  tampered[30] = tampered[30]! ^ 1;

  const response = await postOnion(app, tampered);
  t.equal(response.statusCode, 400);
  t.equal(response.body, '{"msg":["onion ciphertext could not be decrypted"],"status":400}');

  const logged = lines.map((line) => JSON.parse(line));
  t.equal(logged.length, 1);
  t.match(logged[0], { event: 'onion_refused', reason: 'onion ciphertext could not be decrypted' });
  t.notMatch(lines[0], tampered.subarray(4, 40).toString('hex'));
});

t.test('garbage and empty bodies get a plain 400', async (t) => {
  const app = await buildTestApp();

  const garbage = await postOnion(app, Buffer.from('hello'));
  t.equal(garbage.statusCode, 400);
  t.equal(garbage.headers['content-type'], JSON_TYPE);
  t.equal(garbage.body, '{"msg":["onion ciphertext length exceeds the body"],"status":400}');

  const empty = await postOnion(app, Buffer.alloc(0));
  t.equal(empty.statusCode, 400);
  t.equal(empty.body, '{"msg":["onion body is shorter than its length prefix"],"status":400}');
});

t.test('bodies over 1 MiB get a 413; 1 MiB itself is read', async (t) => {
  const app = await buildTestApp();

  const over = await postOnion(app, Buffer.alloc(ONION_BODY_LIMIT + 1));
  t.equal(over.statusCode, 413);
  t.equal(over.body, '{"msg":["onion request body is larger than the limit of 1048576 bytes"],"status":413}');

  const limit = await postOnion(app, Buffer.alloc(ONION_BODY_LIMIT));
  t.equal(limit.statusCode, 400);
  t.equal(limit.body, '{"msg":["onion metadata is not valid JSON"],"status":400}');
});
