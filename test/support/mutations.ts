/**
 * Malformed requests for the fuzz tests, generated from a seeded random source. Every case is
 * built to be refused: a signed request never names a witnessed token or a subscriber, and a
 * revocations request is always broken in some way the protocol refuses. The cases are plain
 * data, so that one list can be sent in process (inject) or over a socket.
 */
import { addPaymentBody, getProofBody, sealOnionPayload } from '../../src/client/index.ts';
import { encodeByteStringList } from '../../src/onion/bencode.ts';
import type { EncType } from '../../src/onion/envelope.ts';
import type { X25519PublicKey } from '../../src/onion/keys.ts';
import { fixedBytes } from '../../src/protocol/index.ts';
import { freshKeys } from './app.ts';
import type { SeededRandom } from './random.ts';

export const ONION_PATH = '/oxen/v4/lsrpc';

export interface FuzzCase {
  /** What was sent, for the failure report. */
  label: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: Buffer;
  /**
   * 'plain': a 4xx with the envelope. 'encrypted': HTTP 200 whose body `open` decrypts to an inner
   * reply with a 4xx code and the envelope (an envelope the server must be able to open).
   */
  expect: 'plain' | 'encrypted';
  open?: (replyBody: Uint8Array) => Uint8Array;
  /** The method of the request whose reply is checked (HEAD replies carry no body). */
  answeredMethod: string;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** A JSON text spliced into a body as is: numbers JSON.stringify cannot write, deep nesting. */
interface Raw {
  raw: string;
}
const MISSING = Symbol('missing');
type Value = unknown;

function raw(text: string): Raw {
  return { raw: text };
}

function isRaw(value: Value): value is Raw {
  return (
    typeof value === 'object' && value !== null && 'raw' in value && Object.keys(value).length === 1
  );
}

function jsonValue(value: Value): string {
  return isRaw(value) ? value.raw : JSON.stringify(value);
}

/** The value a Raw stands for once parsed, for the validity checks. */
function parsedValue(value: Value): unknown {
  return isRaw(value) ? JSON.parse(value.raw) : value;
}

function objectText(entries: [string, Value][]): string {
  const kept = entries.filter(([, value]) => value !== MISSING);
  return `{${kept.map(([key, value]) => `${JSON.stringify(key)}:${jsonValue(value)}`).join(',')}}`;
}

function deepArray(depth: number): Raw {
  return raw(`${'['.repeat(depth)}${']'.repeat(depth)}`);
}

function deepObject(depth: number): Raw {
  return raw(`${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`);
}

/** Replacement values for a hex field, each labelled. */
function badHexValues(random: SeededRandom, hex: string): [string, Value][] {
  const at = random.int(hex.length);
  const intruder = random.pick(['g', 'G', 'z', ' ', '-', '+', 'é', '\u0000', '\n', 'ÿ', '😀']);
  const bytes = Buffer.from(hex, 'hex');
  return [
    ['missing', MISSING],
    ['null', null],
    ['true', true],
    ['false', false],
    ['zero', 0],
    ['negative', -1],
    ['float', 1.5],
    ['1e400', raw('1e400')],
    ['huge integer', raw('123456789012345678901234567890')],
    ['empty', ''],
    ['one short', hex.slice(0, -1)],
    ['a byte short', hex.slice(0, -2)],
    ['one long', `${hex}0`],
    ['a byte long', `${hex}ab`],
    ['doubled', hex + hex],
    ['overlong', 'a'.repeat(random.between(hex.length + 1, 60_000))],
    ['non-hex character', hex.slice(0, at) + intruder + hex.slice(at + 1)],
    ['trailing space', `${hex} `],
    ['leading space', ` ${hex.slice(1)}`],
    ['0x prefix', `0x${hex.slice(2)}`],
    ['base64', bytes.toString('base64')],
    ['empty array', []],
    ['array', [hex]],
    ['empty object', {}],
    ['object', { hex }],
    ['deep array', deepArray(random.between(50, 3000))],
    ['deep object', deepObject(random.between(50, 3000))],
    ['random word', random.word(random.between(1, 200))],
    ['random unicode', randomUnicode(random, random.between(1, 80))],
    ['number-like', raw(String(random.between(1, 1e9)))],
  ];
}

/** Replacement values for an integer field. */
function badIntegerValues(random: SeededRandom, value: number): [string, Value][] {
  return [
    ['missing', MISSING],
    ['null', null],
    ['true', true],
    ['false', false],
    ['empty string', ''],
    ['string zero', '0'],
    ['as string', String(value)],
    ['float', value + 0.5],
    ['tiny float', raw('1e-7')],
    ['negative', -1],
    ['very negative', raw('-9007199254740993')],
    ['2^53', 2 ** 53],
    ['2^64', raw('18446744073709551616')],
    ['huge integer', raw('123456789012345678901234567890')],
    ['1e400', raw('1e400')],
    ['-1e400', raw('-1e400')],
    ['empty array', []],
    ['array', [value]],
    ['empty object', {}],
    ['object', { value }],
    ['NaN string', 'NaN'],
    ['deep array', deepArray(random.between(50, 3000))],
    ['random word', random.word(random.between(1, 40))],
  ];
}

function randomUnicode(random: SeededRandom, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const kind = random.int(4);
    if (kind === 0) out += String.fromCharCode(random.int(0x20));
    else if (kind === 1)
      out += String.fromCharCode(0xd800 + random.int(0x800)); // lone surrogate
    else if (kind === 2) out += String.fromCodePoint(0x80 + random.int(0x10ff00));
    else out += String.fromCharCode(0x20 + random.int(0x5f));
  }
  return out;
}

type FieldKind = 'hex' | 'integer';

/** A route's fields, their kinds, and which values would make a request the server accepts. */
interface RouteShape {
  url: string;
  fields: Record<string, FieldKind>;
  /** A body the server refuses only for a reason past the schema (or, for revocations, accepts). */
  base(): Record<string, unknown>;
  /** Whether a field's value would pass; used only where a pass could lead to a 200. */
  accepts?(field: string, value: unknown): boolean;
}

/** `make`'s first few results, then those again in turn: signing each base anew is slow. */
function fewOf<T>(make: () => T, count = 8): () => T {
  const made: T[] = [];
  let next = 0;
  return () => {
    if (made.length < count) made.push(make());
    return made[next++ % made.length]!;
  };
}

/** The three POST routes, on bases the server must refuse or (revocations) must accept. */
export function routeShapes(nowUnixTsS: () => number): RouteShape[] {
  const addPaymentBase = fewOf(() =>
    addPaymentBody(freshKeys(), crypto.getRandomValues(new Uint8Array(32))),
  );
  const getProofBase = fewOf(() => getProofBody(freshKeys(), nowUnixTsS()));
  return [
    {
      url: '/add_payment',
      fields: {
        version: 'integer',
        master_pkey: 'hex',
        rotating_pkey: 'hex',
        payment_token: 'hex',
        master_sig: 'hex',
        rotating_sig: 'hex',
      },
      // Correctly signed, for a token nobody witnessed: even unmutated it is refused.
      base: () => ({ ...addPaymentBase() }),
    },
    {
      url: '/get_pro_subscription_proof',
      fields: {
        version: 'integer',
        master_pkey: 'hex',
        rotating_pkey: 'hex',
        unix_ts_s: 'integer',
        master_sig: 'hex',
        rotating_sig: 'hex',
      },
      // Correctly signed, now, by a master key with no subscription: refused unmutated too.
      base: () => ({ ...getProofBase() }),
    },
    {
      url: '/get_revocations',
      fields: { version: 'integer', ticket: 'integer' },
      base: () => ({ version: 0, ticket: 0 }),
      accepts: (field, value) =>
        field === 'version'
          ? value === 0
          : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0,
    },
  ];
}

/** True when the route could answer 200 to `body` (only revocations can; see RouteShape). */
function couldSucceed(shape: RouteShape, body: Record<string, unknown>): boolean {
  if (!shape.accepts) return false;
  return Object.keys(shape.fields).every((field) => {
    if (!(field in body)) return false;
    return shape.accepts!(field, body[field]);
  });
}

/** One to three fields of the base replaced by bad values. */
function fieldMutation(
  random: SeededRandom,
  shape: RouteShape,
): { label: string; text: string } | undefined {
  const base = shape.base();
  const entries = Object.entries(base) as [string, Value][];
  const labels: string[] = [];
  const count = random.chance(0.7) ? 1 : random.between(2, Math.min(3, entries.length));
  const indexes = entries.map((_, i) => i);
  for (let i = 0; i < count; i++) {
    // Distinct fields: each mutation starts from the base value.
    const index = indexes.splice(random.int(indexes.length), 1)[0]!;
    const [field, value] = entries[index]!;
    const candidates =
      shape.fields[field] === 'hex'
        ? badHexValues(random, String(value))
        : badIntegerValues(random, Number(value));
    const [what, bad] = random.pick(candidates);
    entries[index] = [field, bad];
    labels.push(`${field} ${what}`);
  }
  const parsed = Object.fromEntries(
    entries.filter(([, v]) => v !== MISSING).map(([k, v]) => [k, parsedValue(v)]),
  );
  if (couldSucceed(shape, parsed)) return undefined;
  return { label: labels.join(', '), text: objectText(entries) };
}

/** Key-level damage: renamed, duplicated with a bad value last, unknown extras beside a bad one. */
function keyMutation(random: SeededRandom, shape: RouteShape): { label: string; text: string } {
  const entries = Object.entries(shape.base()) as [string, Value][];
  const index = random.int(entries.length);
  const [field, value] = entries[index]!;
  const kind = random.int(4);
  if (kind === 0) {
    entries[index] = [field.toUpperCase(), value];
    return { label: `${field} renamed upper case`, text: objectText(entries) };
  }
  if (kind === 1) {
    entries[index] = [` ${field}`, value];
    return { label: `${field} renamed with a space`, text: objectText(entries) };
  }
  if (kind === 2) {
    // The last of duplicate keys wins in JSON.parse: the bad value is the one read.
    entries.push([field, random.pick([null, 'x', -1, [], {}])]);
    return { label: `${field} duplicated with a bad value last`, text: objectText(entries) };
  }
  entries[index] = [`${field}\u0000`, value];
  return { label: `${field} renamed with a NUL`, text: objectText(entries) };
}

/** A body that is not a JSON object, or not JSON at all. */
function bodyMutation(random: SeededRandom, shape: RouteShape): { label: string; payload: Buffer } {
  const text = JSON.stringify(shape.base());
  const { version: _version, ...rest } = shape.base();
  const unversioned = JSON.stringify(rest);
  const cut = random.between(1, text.length - 1);
  const choices: [string, () => Buffer][] = [
    ['empty', () => Buffer.alloc(0)],
    ['whitespace', () => Buffer.from(' \n\t ')],
    ['null', () => Buffer.from('null')],
    ['true', () => Buffer.from('true')],
    ['number', () => Buffer.from(String(random.between(-5, 5)))],
    ['string', () => Buffer.from(JSON.stringify(text))],
    ['array', () => Buffer.from('[]')],
    ['array of the body', () => Buffer.from(`[${text}]`)],
    ['empty object', () => Buffer.from('{}')],
    [`truncated at ${cut}`, () => Buffer.from(text.slice(0, cut))],
    ['trailing garbage', () => Buffer.from(text + random.pick(['}', 'x', ',{}', ' 1', '\u0000']))],
    ['random bytes', () => random.bytes(random.between(1, 300))],
    ['deep array', () => Buffer.from('['.repeat(random.between(1000, 60_000)))],
    ['deep object', () => Buffer.from(deepObject(random.between(1000, 10_000)).raw)],
    // The parser drops these keys as fields the protocol does not list; what they would have
    // put on a prototype must not stand in for the version the body lacks.
    [
      'version only in __proto__',
      () => Buffer.from(`${unversioned.slice(0, -1)},"__proto__":{"version":0}}`),
    ],
    [
      'version only in constructor.prototype',
      () => Buffer.from(`${unversioned.slice(0, -1)},"constructor":{"prototype":{"version":0}}}`),
    ],
    ['UTF-16', () => Buffer.from(text, 'utf16le')],
    ['BOM and truncated', () => Buffer.from(`\ufeff${text.slice(0, cut)}`)],
    ['NUL inside', () => Buffer.from(text.slice(0, cut) + '\u0000' + text.slice(cut))],
    ['over 64 KiB', () => Buffer.from(`${text.slice(0, -1)},"pad":"${'x'.repeat(66_000)}"}`)],
    ['single quotes', () => Buffer.from(text.replaceAll('"', "'"))],
    ['unquoted keys', () => Buffer.from(text.replace(/"(\w+)":/g, '$1:'))],
  ];
  const [label, make] = random.pick(choices);
  return { label: `body ${label}`, payload: make() };
}

/** A content type other than JSON, or a malformed one. */
const WRONG_CONTENT_TYPES = [
  undefined,
  '',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'application/xml',
];

const ODD_CONTENT_TYPES = [
  ...WRONG_CONTENT_TYPES,
  'text/json',
  'application/jsonx',
  'application/json-seq',
  'json',
  'application',
  'application/',
  '/json',
  ';',
  'application/json;;;=',
  'APPLICATION/JSON',
  'application/json; charset=',
];

const OTHER_METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];

/** Paths that must not reach any route. */
function unknownPath(random: SeededRandom): string {
  const fixed = [
    '/',
    '/oxen',
    '/oxen/v4',
    '/oxen/v3/lsrpc',
    '/oxen/v4/lsrpc/',
    '//add_payment',
    '/add_payment/',
    '/ADD_PAYMENT',
    '/add_payments',
    '/add_payment/x',
    '/get_revocations/',
    '/GET_REVOCATIONS',
    '/get_revocation',
    '/health/',
    '/.env',
    '/admin',
    '/metrics',
    '/%',
    '/%zz',
    '/%C0%80',
    '/get_revocations%',
    '/add_payment%zz',
    `/${'a'.repeat(random.between(100, 6000))}`,
    '/..%2f..%2fetc%2fpasswd',
    '/\\[',
    '/\\example.com/health',
  ];
  if (random.chance(0.5)) return random.pick(fixed);
  return `/${random.word(random.between(1, 40)).replace(/[?#]/g, '_')}x`;
}

function directCase(
  label: string,
  method: string,
  url: string,
  headers: Record<string, string>,
  payload: Buffer | undefined,
): FuzzCase {
  return {
    label,
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload }),
    expect: 'plain',
    answeredMethod: method,
  };
}

/** One malformed direct request to one of the routes, an unknown route or /health. */
export function directMutation(random: SeededRandom, shapes: RouteShape[]): FuzzCase {
  for (;;) {
    const kind = random.int(100);
    const shape = random.pick(shapes);
    const url = shape.url;

    if (kind < 45) {
      const mutated = fieldMutation(random, shape);
      if (!mutated) continue;
      const type = random.chance(0.1) ? random.pick(ODD_CONTENT_TYPES) : 'application/json';
      const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
      return directCase(
        `${url}: ${mutated.label} (${type})`,
        'POST',
        url,
        headers,
        Buffer.from(mutated.text),
      );
    }
    if (kind < 55) {
      const mutated = keyMutation(random, shape);
      return directCase(
        `${url}: ${mutated.label}`,
        'POST',
        url,
        JSON_TYPE,
        Buffer.from(mutated.text),
      );
    }
    if (kind < 72) {
      const mutated = bodyMutation(random, shape);
      return directCase(`${url}: ${mutated.label}`, 'POST', url, JSON_TYPE, mutated.payload);
    }
    if (kind < 80) {
      // A valid body under a type that is not JSON: 415 even for revocations.
      const type = random.pick(WRONG_CONTENT_TYPES);
      const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
      const body = Buffer.from(JSON.stringify(shape.base()));
      return directCase(`${url}: content type ${String(type)}`, 'POST', url, headers, body);
    }
    if (kind < 87) {
      const method = random.pick(OTHER_METHODS);
      const body =
        method === 'GET' || method === 'HEAD'
          ? undefined
          : Buffer.from(JSON.stringify(shape.base()));
      return directCase(`${url}: method ${method}`, method, url, JSON_TYPE, body);
    }
    if (kind < 91) {
      const method = random.pick(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
      const body = random.chance(0.5)
        ? Buffer.from('{"version":0,"ticket":0}')
        : random.bytes(random.int(50));
      return directCase(`/health: method ${method}`, method, '/health', JSON_TYPE, body);
    }
    const method = random.pick(['GET', 'POST', 'PUT', 'DELETE', 'HEAD']);
    const path = unknownPath(random);
    const body = method === 'GET' || method === 'HEAD' ? undefined : random.bytes(random.int(100));
    return directCase(
      `unknown route ${method} ${path.slice(0, 80)}`,
      method,
      path,
      JSON_TYPE,
      body,
    );
  }
}

const ENC_TYPES: EncType[] = ['xchacha20-poly1305', 'xchacha20', 'aes-gcm', 'gcm'];

function lengthPrefix(n: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(n >>> 0, 0);
  return prefix;
}

/** `u32 n ‖ ciphertext ‖ metadata`, with whatever ciphertext and metadata bytes are given. */
function envelope(
  ciphertext: Uint8Array,
  metadata: string | Buffer,
  n = ciphertext.length,
): Buffer {
  return Buffer.concat([lengthPrefix(n), ciphertext, Buffer.from(metadata)]);
}

/** X25519 public keys of small order (and their non-canonical spellings). */
const SMALL_ORDER_X25519 = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

function onionCase(label: string, payload: Buffer, headers: Record<string, string> = {}): FuzzCase {
  return {
    label: `onion: ${label}`,
    method: 'POST',
    url: ONION_PATH,
    headers,
    payload,
    expect: 'plain',
    answeredMethod: 'POST',
  };
}

/** Parts of a valid sealed request, to break one at a time. */
function sealedParts(random: SeededRandom, serverKey: X25519PublicKey, plaintext: Uint8Array) {
  const encType = random.pick(ENC_TYPES);
  const ephemeralSecret = fixedBytes(random.bytes(32), 32);
  const sealed = sealOnionPayload(serverKey, plaintext, { encType, ephemeralSecret });
  const n = sealed.body.readUInt32LE(0);
  const ciphertext = sealed.body.subarray(4, 4 + n);
  const metadata = sealed.body.subarray(4 + n).toString('utf8');
  const ephemeralKey = (JSON.parse(metadata) as { ephemeral_key: string }).ephemeral_key;
  return { encType, sealed, ciphertext, metadata, ephemeralKey };
}

/** An envelope the server cannot parse or open: a plain 4xx is the only right answer. */
export function envelopeMutation(random: SeededRandom, serverKey: X25519PublicKey): FuzzCase {
  const inner = encodeByteStringList([
    Buffer.from(JSON.stringify({ method: 'GET', endpoint: '/health', headers: {} })),
  ]);
  const { encType, ciphertext, metadata, ephemeralKey } = sealedParts(random, serverKey, inner);
  const meta = (fields: Record<string, unknown>) => JSON.stringify(fields);
  const flip = (bytes: Uint8Array, at: number) => {
    const copy = Buffer.from(bytes);
    copy[at] = copy[at]! ^ (1 << random.int(8));
    return copy;
  };
  const otherCipher: Record<EncType, EncType> = {
    'xchacha20-poly1305': 'aes-gcm',
    xchacha20: 'gcm',
    'aes-gcm': 'xchacha20',
    gcm: 'xchacha20-poly1305',
  };

  const choices: [string, () => Buffer][] = [
    ['empty body', () => Buffer.alloc(0)],
    ['shorter than the prefix', () => random.bytes(random.between(1, 3))],
    [
      'n past the end',
      () => envelope(ciphertext, metadata, ciphertext.length + metadata.length + 1),
    ],
    ['n = 2^32 - 1', () => envelope(ciphertext, metadata, 0xffffffff)],
    ['n one too long', () => envelope(ciphertext, metadata, ciphertext.length + 1)],
    ['n one too short', () => envelope(ciphertext, metadata, ciphertext.length - 1)],
    ['n = 0', () => envelope(new Uint8Array(0), metadata)],
    ['no metadata', () => envelope(ciphertext, '')],
    [
      'metadata not JSON',
      () => envelope(ciphertext, metadata.slice(0, random.between(1, metadata.length - 1))),
    ],
    ['metadata an array', () => envelope(ciphertext, `[${metadata}]`)],
    ['metadata a string', () => envelope(ciphertext, JSON.stringify(metadata))],
    ['metadata null', () => envelope(ciphertext, 'null')],
    [
      'metadata not UTF-8',
      () =>
        envelope(
          ciphertext,
          Buffer.concat([
            Buffer.from(metadata.slice(0, -2)),
            Buffer.from([0xff, 0xfe]),
            Buffer.from('"}'),
          ]),
        ),
    ],
    ['metadata random bytes', () => envelope(ciphertext, random.bytes(random.between(1, 100)))],
    ['ephemeral_key missing', () => envelope(ciphertext, meta({ enc_type: encType }))],
    [
      'ephemeral_key a number',
      () => envelope(ciphertext, meta({ ephemeral_key: 5, enc_type: encType })),
    ],
    [
      'ephemeral_key null',
      () => envelope(ciphertext, meta({ ephemeral_key: null, enc_type: encType })),
    ],
    [
      'ephemeral_key an array',
      () => envelope(ciphertext, meta({ ephemeral_key: [ephemeralKey], enc_type: encType })),
    ],
    [
      'ephemeral_key short',
      () => envelope(ciphertext, meta({ ephemeral_key: ephemeralKey.slice(2), enc_type: encType })),
    ],
    [
      'ephemeral_key long',
      () => envelope(ciphertext, meta({ ephemeral_key: `${ephemeralKey}00`, enc_type: encType })),
    ],
    [
      'ephemeral_key non-hex',
      () =>
        envelope(
          ciphertext,
          meta({ ephemeral_key: `zz${ephemeralKey.slice(2)}`, enc_type: encType }),
        ),
    ],
    [
      'ephemeral_key of small order',
      () =>
        envelope(
          ciphertext,
          meta({ ephemeral_key: random.pick(SMALL_ORDER_X25519), enc_type: encType }),
        ),
    ],
    [
      'ephemeral_key another key',
      () =>
        envelope(
          ciphertext,
          meta({ ephemeral_key: random.bytes(32).toString('hex'), enc_type: encType }),
        ),
    ],
    [
      'enc_type unknown',
      () =>
        envelope(
          ciphertext,
          meta({
            ephemeral_key: ephemeralKey,
            enc_type: random.pick([
              'AES-GCM',
              'chacha',
              '',
              'aes',
              'toString',
              '__proto__',
              'xchacha20poly1305',
            ]),
          }),
        ),
    ],
    [
      'enc_type not a string',
      () =>
        envelope(
          ciphertext,
          meta({ ephemeral_key: ephemeralKey, enc_type: random.pick([null, 1, [], {}, true]) }),
        ),
    ],
    [
      'enc_type the other cipher',
      () =>
        envelope(ciphertext, meta({ ephemeral_key: ephemeralKey, enc_type: otherCipher[encType] })),
    ],
    [
      'ciphertext bit flipped',
      () => envelope(flip(ciphertext, random.int(ciphertext.length)), metadata),
    ],
    [
      'tag bit flipped',
      () => envelope(flip(ciphertext, ciphertext.length - 1 - random.int(16)), metadata),
    ],
    ['nonce bit flipped', () => envelope(flip(ciphertext, random.int(12)), metadata)],
    [
      'ciphertext truncated',
      () => envelope(ciphertext.subarray(0, random.int(ciphertext.length)), metadata),
    ],
    [
      'ciphertext extended',
      () => envelope(Buffer.concat([ciphertext, random.bytes(random.between(1, 16))]), metadata),
    ],
    ['ciphertext random', () => envelope(random.bytes(ciphertext.length), metadata)],
    [
      'ciphertext too short for the nonce and tag',
      () => envelope(random.bytes(random.int(28)), metadata),
    ],
    ['over 1 MiB', () => envelope(random.bytes(1024 * 1024 + 16), metadata)],
  ];
  // A megabyte body is costly to build and send: rarely.
  const pool = random.chance(0.995) ? choices.slice(0, -1) : choices;
  const [label, make] = random.pick(pool);
  const type = random.pick([
    undefined,
    'application/octet-stream',
    'application/json',
    'text/plain',
    'x/y',
  ]);
  return onionCase(
    `${label} (${encType})`,
    make(),
    type === undefined ? {} : { 'content-type': type },
  );
}

/** A correctly sealed payload that is not a valid inner request: an encrypted 400. */
export function payloadMutation(random: SeededRandom, serverKey: X25519PublicKey): FuzzCase {
  const validMeta = { method: 'POST', endpoint: '/get_revocations', headers: JSON_TYPE };
  const metaWith = (changes: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ ...validMeta, ...changes }));
  const list = (...items: Buffer[]) => Buffer.from(encodeByteStringList(items));
  const body = Buffer.from('{"version":0,"ticket":0}');
  const missing = (field: string) => {
    const meta: Record<string, unknown> = { ...validMeta };
    delete meta[field];
    return Buffer.from(JSON.stringify(meta));
  };

  const choices: [string, () => Buffer][] = [
    ['empty', () => Buffer.alloc(0)],
    ['not a list', () => Buffer.from('3:abc')],
    ['unterminated list', () => Buffer.from('l')],
    ['empty list', () => Buffer.from('le')],
    ['integer', () => Buffer.from('i5e')],
    ['dictionary', () => Buffer.from('d1:a1:be')],
    ['list holding an integer', () => Buffer.from('li5ee')],
    ['nested list', () => Buffer.from('ll2:{}ee')],
    ['three elements', () => list(metaWith({}), body, Buffer.from('x'))],
    ['leading zero length', () => Buffer.from('l02:{}e')],
    ['negative length', () => Buffer.from('l-1:e')],
    ['length past the end', () => Buffer.from('l99:{}e')],
    ['length with ten digits', () => Buffer.from('l1000000000:{}e')],
    ['missing colon', () => Buffer.from('l2{}e')],
    ['bytes after the end', () => Buffer.concat([list(metaWith({}), body), Buffer.from('x')])],
    ['random bytes', () => random.bytes(random.between(1, 200))],
    [
      'random list',
      () =>
        Buffer.concat([Buffer.from('l'), random.bytes(random.between(1, 100)), Buffer.from('e')]),
    ],
    ['meta not JSON', () => list(Buffer.from('{method:POST}'), body)],
    ['meta not UTF-8', () => list(Buffer.from([0x7b, 0xff, 0x7d]), body)],
    ['meta an array', () => list(Buffer.from('[]'), body)],
    ['meta null', () => list(Buffer.from('null'), body)],
    ['meta empty', () => list(Buffer.alloc(0), body)],
    ['method missing', () => list(missing('method'), body)],
    ['method lower case', () => list(metaWith({ method: 'post' }), body)],
    [
      'method unknown',
      () => list(metaWith({ method: random.pick(['CONNECT', 'TRACE', 'FOO', '', 'POST ']) }), body),
    ],
    [
      'method not a string',
      () => list(metaWith({ method: random.pick([1, null, [], {}, true]) }), body),
    ],
    ['endpoint missing', () => list(missing('endpoint'), body)],
    ['endpoint without slash', () => list(metaWith({ endpoint: 'get_revocations' }), body)],
    ['endpoint empty', () => list(metaWith({ endpoint: '' }), body)],
    ['endpoint with a space', () => list(metaWith({ endpoint: '/get_revocations x' }), body)],
    ['endpoint not ASCII', () => list(metaWith({ endpoint: '/get_révocations' }), body)],
    ['endpoint with a NUL', () => list(metaWith({ endpoint: '/get_revocations\u0000' }), body)],
    [
      'endpoint with a line break',
      () => list(metaWith({ endpoint: '/get_revocations\r\nX: y' }), body),
    ],
    [
      'endpoint naming a host',
      () =>
        list(
          metaWith({ endpoint: random.pick(['/\\[', '/\\%zz', '/\\example.com/get_revocations']) }),
          body,
        ),
    ],
    [
      'endpoint absolute URL',
      () => list(metaWith({ endpoint: 'http://example.com/get_revocations' }), body),
    ],
    [
      'endpoint not a string',
      () => list(metaWith({ endpoint: random.pick([1, null, [], {}]) }), body),
    ],
    ['headers an array', () => list(metaWith({ headers: [] }), body)],
    ['headers a string', () => list(metaWith({ headers: 'content-type: application/json' }), body)],
    ['headers null', () => list(metaWith({ headers: null }), body)],
    [
      'header name with a space',
      () => list(metaWith({ headers: { ...JSON_TYPE, 'x y': '1' } }), body),
    ],
    ['header name empty', () => list(metaWith({ headers: { ...JSON_TYPE, '': '1' } }), body)],
    [
      'header name with a colon',
      () => list(metaWith({ headers: { ...JSON_TYPE, 'a:b': '1' } }), body),
    ],
    ['header value a number', () => list(metaWith({ headers: { 'content-type': 5 } }), body)],
    ['header value null', () => list(metaWith({ headers: { 'content-type': null } }), body)],
    ['header value an object', () => list(metaWith({ headers: { 'content-type': {} } }), body)],
    [
      'header value with CRLF',
      () => list(metaWith({ headers: { 'content-type': 'application/json\r\nx-a: b' } }), body),
    ],
    [
      'header value with a NUL',
      () => list(metaWith({ headers: { 'content-type': 'application/json\u0000' } }), body),
    ],
  ];
  const [label, make] = random.pick(choices);
  const encType = random.pick(ENC_TYPES);
  const sealed = sealOnionPayload(serverKey, make(), { encType });
  return {
    label: `onion payload: ${label} (${encType})`,
    method: 'POST',
    url: ONION_PATH,
    headers: {},
    payload: sealed.body,
    expect: 'encrypted',
    open: sealed.open,
    answeredMethod: 'POST',
  };
}

/**
 * A direct case sent through the onion route, correctly sealed: the inner reply must be the
 * same refusal, encrypted. Inner requests to the onion route itself are refused as nested.
 */
export function wrapInOnion(
  random: SeededRandom,
  serverKey: X25519PublicKey,
  direct: FuzzCase,
): FuzzCase {
  const meta = Buffer.from(
    JSON.stringify({ method: direct.method, endpoint: direct.url, headers: direct.headers }),
  );
  const items = direct.payload === undefined ? [meta] : [meta, direct.payload];
  const encType = random.pick(ENC_TYPES);
  const sealed = sealOnionPayload(serverKey, encodeByteStringList(items), { encType });
  return {
    label: `through onion (${encType}): ${direct.label}`,
    method: 'POST',
    url: ONION_PATH,
    headers: { 'content-type': 'application/octet-stream' },
    payload: sealed.body,
    expect: 'encrypted',
    open: sealed.open,
    answeredMethod: direct.method,
  };
}

/**
 * Cases that once got a 5xx or a reply without the envelope, kept so that every run sends them:
 * a path whose percent-encoding does not decode, and onion endpoints that URL parsing reads as
 * naming a host ("/\host").
 */
export function knownCases(serverKey: X25519PublicKey): FuzzCase[] {
  const revocations = Buffer.from('{"version":0,"ticket":0}');
  const direct = ['/%zz', '/get_revocations%', '/%C0%80'].map((path) =>
    directCase(`known: bad percent-encoding ${path}`, 'POST', path, JSON_TYPE, revocations),
  );
  const sealed = [
    '/\\[',
    '/\\%zz',
    '/\\localhost:99999/health',
    '/\\example.com/get_revocations',
    '/%zz',
  ].map((endpoint) => {
    const meta = Buffer.from(JSON.stringify({ method: 'POST', endpoint, headers: JSON_TYPE }));
    const request = sealOnionPayload(serverKey, encodeByteStringList([meta, revocations]));
    return {
      label: `known: onion endpoint ${endpoint}`,
      method: 'POST',
      url: ONION_PATH,
      headers: {},
      payload: request.body,
      expect: 'encrypted' as const,
      open: request.open,
      answeredMethod: 'POST',
    };
  });
  return [...direct, ...sealed];
}
