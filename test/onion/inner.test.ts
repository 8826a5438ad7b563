import t from 'tap';
import { refusal } from '../support/refusal.ts';
import {
  decodeInnerReply,
  decodeInnerRequest,
  encodeInnerReply,
  encodeInnerRequest,
  innerErrorReply,
} from '../../src/onion/inner.ts';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const text = (data: Uint8Array | undefined) => (data ? Buffer.from(data).toString('latin1') : data);


function listOf(meta: string, body?: string): Buffer {
  const body2 = body === undefined ? '' : `${bytes(body).length}:${body}`;
  return bytes(`l${bytes(meta).length}:${meta}${body2}e`);
}

t.test('an inner request is its meta and its body', async (t) => {
  const meta =
    '{"method":"POST","endpoint":"/get_revocations","headers":{"Content-Type":"application/json"}}';
  const request = decodeInnerRequest(listOf(meta, '{"version":0,"ticket":0}'));

  t.equal(request.method, 'POST');
  t.equal(request.endpoint, '/get_revocations');
  t.same(request.headers, { 'content-type': 'application/json' });
  t.equal(text(request.body), '{"version":0,"ticket":0}');
});

t.test('a one-element list is a request without a body, and headers may be absent', async (t) => {
  const request = decodeInnerRequest(listOf('{"method":"GET","endpoint":"/health"}'));

  t.same(request.headers, {});
  t.equal(request.body, undefined);
});

t.test('a payload that is not an inner request is refused with every problem', async (t) => {
  // What URL parsing would change: dot segments, escapes, a host ("//h"), one that cannot parse.
  const NOT_NORMAL_ENDPOINTS = [
    '/x/../get_revocations',
    '/%2e%2e/get_revocations',
    '/./health',
    '/a/..',
    '/{x}',
    '//h/x',
    '//h|x',
  ];
  const cases: Array<[Buffer, string]> = [
    [bytes('l1:a1:b1:ce'), 'payload must be a bencoded list of one or two strings '
      + '(list has more than two elements)'],
    [bytes('not bencode'), 'payload must be a bencoded list of one or two strings '
      + '(payload is not a bencoded list)'],
    [listOf('{"method":'), 'request meta is not valid JSON'],
    [listOf('"POST /x"'), 'request meta is not a JSON object'],
    [listOf('{}'), 'method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS; '
      + 'endpoint must be a path starting with "/"'],
    [listOf('{"method":"post","endpoint":"/x"}'),
      'method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS'],
    [listOf('{"method":"POST","endpoint":"x"}'), 'endpoint must be a path starting with "/"'],
    [listOf('{"method":"POST","endpoint":"/a b"}'), 'endpoint must be a path starting with "/"'],
    ...NOT_NORMAL_ENDPOINTS.map(
      (endpoint): [Buffer, string] => [
        listOf(`{"method":"POST","endpoint":"${endpoint}"}`),
        'endpoint must be a path without "." or ".." segments or characters to escape',
      ],
    ),
    [listOf('{"method":"POST","endpoint":"/x","headers":[]}'), 'headers must be a JSON object'],
    [listOf('{"method":"POST","endpoint":"/x","headers":{"a b":"1"}}'),
      'headers has a name that is not a valid HTTP header name'],
    [listOf('{"method":"POST","endpoint":"/x","headers":{"x-n":1}}'),
      'headers.x-n must be a string without line breaks'],
    [listOf('{"method":"POST","endpoint":"/x","headers":{"x-n":"a\\r\\nb: c"}}'),
      'headers.x-n must be a string without line breaks'],
  ];
  for (const [payload, message] of cases) {
    t.equal(refusal(() => decodeInnerRequest(payload)), `OnionPayloadError: ${message}`, message);
  }
});

t.test('a reply is the compact meta then the body', async (t) => {
  const reply = { code: 200, headers: { 'content-type': 'application/json' }, body: bytes('{}') };

  t.equal(
    text(encodeInnerReply(reply)),
    'l58:{"code":200,"headers":{"content-type":"application/json"}}2:{}e',
  );
  const decoded = decodeInnerReply(encodeInnerReply(reply));
  t.same({ ...decoded, body: text(decoded.body) }, { ...reply, body: '{}' });
});

t.test('a refused inner request gets the error envelope as its body', async (t) => {
  const reply = innerErrorReply(400, ['endpoint must be a path starting with "/"']);

  t.equal(reply.code, 400);
  t.same(reply.headers, { 'content-type': 'application/json' });
  t.equal(
    text(reply.body),
    '{"msg":["endpoint must be a path starting with \\"/\\""],"status":400}',
  );
});

t.test('the client writes the meta as Session clients do', async (t) => {
  const plaintext = encodeInnerRequest({
    method: 'POST',
    endpoint: '/get_revocations',
    headers: { 'Content-Type': 'application/json' },
    body: bytes('{"version":0,"ticket":0}'),
  });

  t.equal(
    text(plaintext),
    'l93:{"method":"POST","endpoint":"/get_revocations",'
      + '"headers":{"Content-Type":"application/json"}}24:{"version":0,"ticket":0}e',
  );
});
