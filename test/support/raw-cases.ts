/**
 * Bytes on a socket that no HTTP client library would send: broken request lines, framing that
 * contradicts itself, header bytes HTTP forbids, chunked garbage. The answer must be a 4xx or a
 * closed connection.
 */
import type { SeededRandom } from './random.ts';

export interface RawCase {
  label: string;
  bytes: Buffer;
}

const CRLF = '\r\n';

function message(lines: string[], body = '', eol = CRLF): Buffer {
  return Buffer.from(lines.join(eol) + eol + eol + body, 'latin1');
}

const JSON_POST = [
  'POST /get_revocations HTTP/1.1',
  'Host: backend',
  'Content-Type: application/json',
];

export function rawHttpCases(random: SeededRandom): RawCase[] {
  const badJson = '{"version":0,';
  const valid = '{"version":0,"ticket":0}';
  const cases: [string, Buffer][] = [
    ['not HTTP', Buffer.from(`GARBAGE${CRLF}${CRLF}`)],
    ['random bytes', random.bytes(300)],
    ['a TLS client hello', Buffer.from('16030100a5010000a10303' + '00'.repeat(32), 'hex')],
    ['the HTTP/2 preface', Buffer.from(`PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}`)],
    ['an unknown method', message(['FOO /get_revocations HTTP/1.1', 'Host: backend'])],
    ['a lower-case method', message(['post /get_revocations HTTP/1.1', 'Host: backend'])],
    [
      'no Host header',
      message(
        [
          'POST /get_revocations HTTP/1.1',
          'Content-Type: application/json',
          `Content-Length: ${valid.length}`,
        ],
        valid,
      ),
    ],
    ['HTTP/9.9', message(['POST /get_revocations HTTP/9.9', 'Host: backend'])],
    [
      'a header without a colon',
      message([...JSON_POST, 'X-Broken header', 'Content-Length: 2'], '{}'),
    ],
    [
      'a control byte in a header value',
      message([...JSON_POST, 'X-A: a\u0001b', 'Content-Length: 2'], '{}'),
    ],
    [
      'a space before the colon',
      message(
        [
          'POST /get_revocations HTTP/1.1',
          'Host: backend',
          'Content-Type : application/json',
          'Content-Length: 2',
        ],
        '{}',
      ),
    ],
    [
      'an obsolete folded header',
      message([...JSON_POST, 'X-A: a', ' b', 'Content-Length: 2'], '{}'),
    ],
    [
      'bare LF line endings',
      message([...JSON_POST, `Content-Length: ${badJson.length}`], badJson, '\n'),
    ],
    ['a NUL in the path', message(['POST /get_rev\u0000ocations HTTP/1.1', 'Host: backend'])],
    ['a space in the path', message(['POST /get revocations HTTP/1.1', 'Host: backend'])],
    ['a non-ASCII path', message(['POST /get_r\u00e9vocations HTTP/1.1', 'Host: backend'])],
    ['a 20 KB path', message([`POST /${'a'.repeat(20_000)} HTTP/1.1`, 'Host: backend'])],
    [
      'a 20 KB header',
      message([...JSON_POST, `X-Big: ${'b'.repeat(20_000)}`, 'Content-Length: 2'], '{}'),
    ],
    [
      '3,000 headers',
      message([...JSON_POST, ...Array.from({ length: 3000 }, (_, i) => `X-${i}: 1`)]),
    ],
    ['Content-Length not a number', message([...JSON_POST, 'Content-Length: abc'], valid)],
    ['Content-Length negative', message([...JSON_POST, 'Content-Length: -1'], valid)],
    [
      'two different Content-Lengths',
      message([...JSON_POST, 'Content-Length: 2', 'Content-Length: 3'], '{}x'),
    ],
    ['Content-Length shorter than the body', message([...JSON_POST, 'Content-Length: 5'], valid)],
    [
      'Content-Length past the body, then the end',
      message([...JSON_POST, 'Content-Length: 100'], valid),
    ],
    ['Content-Length of 100 GB', message([...JSON_POST, 'Content-Length: 100000000000'])],
    [
      'chunked garbage',
      message([...JSON_POST, 'Transfer-Encoding: chunked'], `zz${CRLF}abc${CRLF}0${CRLF}${CRLF}`),
    ],
    [
      'a chunk size that overflows',
      message([...JSON_POST, 'Transfer-Encoding: chunked'], `FFFFFFFFFFFFFFFFFFFF${CRLF}ab${CRLF}`),
    ],
    [
      'chunks without the last chunk',
      message([...JSON_POST, 'Transfer-Encoding: chunked'], `5${CRLF}{"ver${CRLF}`),
    ],
    [
      'chunks of invalid JSON',
      message(
        [...JSON_POST, 'Transfer-Encoding: chunked'],
        `d${CRLF}${badJson}${CRLF}0${CRLF}${CRLF}`,
      ),
    ],
    [
      'a chunk longer than it says',
      message(
        [...JSON_POST, 'Transfer-Encoding: chunked'],
        `2${CRLF}${valid}${CRLF}0${CRLF}${CRLF}`,
      ),
    ],
    [
      'chunked and Content-Length',
      message(
        [...JSON_POST, 'Transfer-Encoding: chunked', 'Content-Length: 2'],
        `2${CRLF}{}${CRLF}0${CRLF}${CRLF}`,
      ),
    ],
    ['Transfer-Encoding gzip', message([...JSON_POST, 'Transfer-Encoding: gzip'], valid)],
    [
      'Transfer-Encoding chunked, identity',
      message([...JSON_POST, 'Transfer-Encoding: chunked, identity'], `0${CRLF}${CRLF}`),
    ],
    [
      'Expect: 100-continue with bad JSON',
      message([...JSON_POST, 'Expect: 100-continue', `Content-Length: ${badJson.length}`], badJson),
    ],
    [
      'an unknown Expect',
      message([...JSON_POST, 'Expect: telepathy', `Content-Length: ${badJson.length}`], badJson),
    ],
    [
      'an Upgrade to websocket',
      message(
        [
          ...JSON_POST,
          'Connection: Upgrade',
          'Upgrade: websocket',
          `Content-Length: ${badJson.length}`,
        ],
        badJson,
      ),
    ],
    ['CONNECT', message(['CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443'])],
    [
      'pipelined refusals and garbage',
      Buffer.concat([
        message([...JSON_POST, `Content-Length: ${badJson.length}`], badJson),
        message(['POST /nope HTTP/1.1', 'Host: backend', 'Content-Length: 0']),
        Buffer.from(`GARBAGE${CRLF}${CRLF}`),
      ]),
    ],
    [
      'random bytes to the onion route',
      message(
        ['POST /oxen/v4/lsrpc HTTP/1.1', 'Host: backend', 'Content-Length: 64'],
        random.bytes(64).toString('latin1'),
      ),
    ],
    [
      'an onion body declared over 1 MiB',
      message(['POST /oxen/v4/lsrpc HTTP/1.1', 'Host: backend', 'Content-Length: 2000000']),
    ],
    ['nothing at all', Buffer.alloc(0)],
    ['half a request line', Buffer.from('POST /get_revo')],
    [
      'headers never finished',
      Buffer.from(`POST /get_revocations HTTP/1.1${CRLF}Host: backend${CRLF}`),
    ],
  ];
  return cases.map(([label, bytes]) => ({ label, bytes }));
}
