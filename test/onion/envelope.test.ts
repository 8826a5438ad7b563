import t from 'tap';
import { refusal } from '../support/refusal.ts';
import { vectors, type OnionVector } from '../support/vectors.ts';
import {
  decrypt,
  encodeEnvelope,
  encrypt,
  openEnvelope,
  parseEnvelope,
  serverSymmetricKey,
  type OnionCipher,
} from '../../src/onion/envelope.ts';
import { onionKeyPairFromSeed } from '../../src/onion/keys.ts';
import { fromHex, toHex } from '../../src/protocol/bytes.ts';

const server = onionKeyPairFromSeed(fromHex(vectors.backend_x25519.backend_seed, 32));


const hexBytes = (hex: string) => Buffer.from(hex, 'hex');
const latin1 = (text: string) => Buffer.from(text, 'latin1');


for (const vector of vectors.onion_v4 as OnionVector[]) {
  t.test(`the ${vector.enc_type} vector, byte for byte`, async (t) => {
    t.equal(toHex(server.publicKey), vector.server_x25519_pkey);

    const envelope = parseEnvelope(hexBytes(vector.request));
    t.equal(envelope.cipher, vector.enc_type === 'aes-gcm' ? 'aes-gcm' : 'xchacha20');
    t.equal(toHex(envelope.ephemeralKey), vector.client_x25519_pkey);

    const key = serverSymmetricKey(server, envelope);
    t.equal(toHex(key), vector.symmetric_key);

    const opened = openEnvelope(hexBytes(vector.request), server);
    t.equal(Buffer.from(opened.plaintext).toString('latin1'), vector.plaintext_request);

    const nonce = hexBytes(vector.reply_nonce);
    const reply = encrypt(opened.cipher, key, latin1(vector.plaintext_reply), nonce);
    t.equal(reply.toString('hex'), vector.reply);
  });
}

/** A well-formed envelope of the first vector with one part replaced. */
function vectorEnvelope(replace: { ciphertext?: Buffer; metadata?: string } = {}): Buffer {
  const request = hexBytes(vectors.onion_v4[0]!.request);
  const n = request.readUInt32LE(0);
  const ciphertext = replace.ciphertext ?? request.subarray(4, 4 + n);
  const metadata =
    replace.metadata === undefined ? request.subarray(4 + n) : latin1(replace.metadata);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32LE(ciphertext.length);
  return Buffer.concat([prefix, ciphertext, metadata]);
}

const KEY_HEX = vectors.onion_v4[0]!.client_x25519_pkey as string;

t.test('an envelope that cannot be parsed or decrypted is refused with the reason', async (t) => {
  const request = hexBytes(vectors.onion_v4[0]!.request);
  const withoutMetadata = request.subarray(0, 4 + request.readUInt32LE(0));
  const tampered = Buffer.from(request);
  tampered[40] = tampered[40]! ^ 1;
  const NOT_JSON = 'onion metadata is not valid JSON';
  const NOT_OBJECT = 'onion metadata is not a JSON object';
  const TOO_LONG = 'onion ciphertext length exceeds the body';
  const cases: Array<[string, Buffer, string]> = [
    ['empty body', Buffer.alloc(0), 'onion body is shorter than its length prefix'],
    ['three bytes', Buffer.from([1, 0, 0]), 'onion body is shorter than its length prefix'],
    ['length past the end', request.subarray(0, 100), TOO_LONG],
    ['length 2^32 - 1', Buffer.from('ffffffff7b7d', 'hex'), TOO_LONG],
    ['no metadata', withoutMetadata, NOT_JSON],
    ['metadata not JSON', vectorEnvelope({ metadata: '{ephemeral_key' }), NOT_JSON],
    ['metadata not UTF-8', vectorEnvelope({ metadata: '"\xff"' }), NOT_JSON],
    ['metadata an array', vectorEnvelope({ metadata: '[]' }), NOT_OBJECT],
    ['metadata null', vectorEnvelope({ metadata: 'null' }), NOT_OBJECT],
    ['no ephemeral key', vectorEnvelope({ metadata: '{}' }), 'ephemeral_key is missing'],
    [
      'ephemeral key too short',
      vectorEnvelope({ metadata: `{"ephemeral_key": "${KEY_HEX.slice(2)}"}` }),
      'ephemeral_key must be 64 hex characters',
    ],
    [
      'ephemeral key not hex',
      vectorEnvelope({ metadata: `{"ephemeral_key": "${KEY_HEX.slice(2)}zz"}` }),
      'ephemeral_key must be 64 hex characters',
    ],
    [
      'unknown enc_type',
      vectorEnvelope({ metadata: `{"ephemeral_key": "${KEY_HEX}", "enc_type": "aes-cbc"}` }),
      'enc_type must be one of xchacha20-poly1305, xchacha20, aes-gcm, gcm',
    ],
    [
      'enc_type null',
      vectorEnvelope({ metadata: `{"ephemeral_key": "${KEY_HEX}", "enc_type": null}` }),
      'enc_type must be one of xchacha20-poly1305, xchacha20, aes-gcm, gcm',
    ],
    ['tampered ciphertext', tampered, 'onion ciphertext could not be decrypted'],
    [
      'ciphertext shorter than nonce and tag',
      vectorEnvelope({ ciphertext: Buffer.alloc(39) }),
      'onion ciphertext is too short',
    ],
    [
      'xchacha20 ciphertext sent as aes-gcm',
      vectorEnvelope({ metadata: `{"ephemeral_key": "${KEY_HEX}", "enc_type": "gcm"}` }),
      'onion ciphertext could not be decrypted',
    ],
    [
      'small-order ephemeral key',
      vectorEnvelope({ metadata: `{"ephemeral_key": "${'00'.repeat(32)}"}` }),
      'ephemeral_key is a point of small order',
    ],
    [
      'small-order ephemeral key (order 8)',
      vectorEnvelope({
        metadata: '{"ephemeral_key": '
          + '"E0EB7A7C3B41B8AE1656E3FAF19FC46ADA098DEB9C32B1FD866205165F49B800"}',
      }),
      'ephemeral_key is a point of small order',
    ],
  ];
  for (const [what, body, message] of cases) {
    t.equal(refusal(() => openEnvelope(body, server)), `OnionEnvelopeError: ${message}`, what);
  }
});

t.test('the messages never carry key material or plaintext', async (t) => {
  const request = hexBytes(vectors.onion_v4[0]!.request);
  const tampered = Buffer.from(request);
  tampered[40] = tampered[40]! ^ 1;
  const message = refusal(() => openEnvelope(tampered, server));

  t.equal(message, 'OnionEnvelopeError: onion ciphertext could not be decrypted');
  t.notMatch(message, /[0-9a-f]{16}/);
});

t.test('enc_type absent means aes-gcm; every spelling names its cipher', async (t) => {
  const spellings: Array<[string | undefined, OnionCipher]> = [
    [undefined, 'aes-gcm'],
    ['aes-gcm', 'aes-gcm'],
    ['gcm', 'aes-gcm'],
    ['xchacha20', 'xchacha20'],
    ['xchacha20-poly1305', 'xchacha20'],
  ];
  for (const [encType, cipher] of spellings) {
    const extra = encType === undefined ? '' : `, "enc_type": "${encType}"`;
    const metadata = `{"ephemeral_key": "${KEY_HEX}"${extra}}`;
    const envelope = parseEnvelope(vectorEnvelope({ metadata }));
    t.equal(envelope.cipher, cipher, String(encType));
  }
});

t.test('the ephemeral key is accepted in upper case', async (t) => {
  const envelope = parseEnvelope(
    vectorEnvelope({ metadata: `{"ephemeral_key": "${KEY_HEX.toUpperCase()}"}` }),
  );
  t.equal(toHex(envelope.ephemeralKey), KEY_HEX);
});

t.test('encodeEnvelope writes what Session clients send', async (t) => {
  const vector = vectors.onion_v4[0]!;
  const request = hexBytes(vector.request);
  const envelope = parseEnvelope(request);

  t.same(encodeEnvelope(envelope.ciphertext, envelope.ephemeralKey, vector.enc_type), request);
});

t.test('a reply encrypts under a fresh nonce and decrypts to the same plaintext', async (t) => {
  const key = fromHex('11'.repeat(32), 32);
  for (const cipher of ['xchacha20', 'aes-gcm'] as const) {
    const first = encrypt(cipher, key, latin1('reply'));
    const second = encrypt(cipher, key, latin1('reply'));

    t.not(first.toString('hex'), second.toString('hex'), `${cipher} nonces differ`);
    t.equal(Buffer.from(decrypt(cipher, key, first)).toString('latin1'), 'reply');
    t.equal(first.length, (cipher === 'xchacha20' ? 24 : 12) + 5 + 16);
  }
});

t.test('a nonce of the wrong length is refused', async (t) => {
  const key = fromHex('11'.repeat(32), 32);
  t.equal(
    refusal(() => encrypt('aes-gcm', key, latin1('x'), Buffer.alloc(24))),
    'RangeError: aes-gcm nonce must be 12 bytes',
  );
  t.equal(
    refusal(() => encrypt('xchacha20', key, latin1('x'), Buffer.alloc(12))),
    'RangeError: xchacha20 nonce must be 24 bytes',
  );
});
