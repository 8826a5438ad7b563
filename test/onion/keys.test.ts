import t from 'tap';
import { vectors } from '../support/vectors.ts';
import {
  onionKeyPairFromSeed,
  SmallOrderKeyError,
  x25519PublicKey,
  x25519SharedSecret,
} from '../../src/onion/keys.ts';
import { fromHex, toHex } from '../../src/protocol/bytes.ts';

const backend = vectors.backend_x25519;
const onion = vectors.onion_v4[0]!;

t.test('the onion key pair is the backend key converted the libsodium way', async (t) => {
  const pair = onionKeyPairFromSeed(fromHex(backend.backend_seed, 32));

  t.equal(toHex(pair.secretKey), backend.x25519_secret);
  t.equal(toHex(pair.publicKey), backend.x25519_pkey);
  t.equal(toHex(x25519PublicKey(pair.secretKey)), backend.x25519_pkey, 'pk matches the secret');
});

t.test('client and server reach the same shared secret', async (t) => {
  const server = onionKeyPairFromSeed(fromHex(backend.backend_seed, 32));
  const clientSecret = fromHex(onion.client_x25519_secret, 32);
  const clientKey = fromHex(onion.client_x25519_pkey, 32);

  t.equal(toHex(x25519PublicKey(clientSecret)), onion.client_x25519_pkey);
  t.same(
    x25519SharedSecret(server.secretKey, clientKey),
    x25519SharedSecret(clientSecret, server.publicKey),
  );
});

t.test('a public key of small order is refused', async (t) => {
  const server = onionKeyPairFromSeed(fromHex(backend.backend_seed, 32));
  const smallOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    // The same points spelled with the ignored top bit set, and p itself (which is 0).
    '0000000000000000000000000000000000000000000000000000000000000080',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ];
  for (const hex of smallOrder) {
    t.throws(() => x25519SharedSecret(server.secretKey, fromHex(hex, 32)), SmallOrderKeyError, hex);
  }
});
