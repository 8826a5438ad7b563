import t from 'tap';
import { vectors } from '../support/vectors.ts';
import { buildOnionRequest } from '../../src/client/onion.ts';
import { encrypt, openEnvelope, type EncType } from '../../src/onion/envelope.ts';
import { onionKeyPairFromSeed } from '../../src/onion/keys.ts';
import { fromHex } from '../../src/protocol/bytes.ts';

const server = onionKeyPairFromSeed(fromHex(vectors.backend_x25519.backend_seed, 32));

for (const vector of vectors.onion_v4) {
  t.test(`the client builds the ${vector.enc_type} vector and opens its reply`, async (t) => {
    const request = Buffer.from(vector.request, 'hex');
    const nonceLength = vector.enc_type === 'aes-gcm' ? 12 : 24;
    const onion = buildOnionRequest(
      server.publicKey,
      {
        method: 'POST',
        endpoint: '/get_revocations',
        headers: { 'Content-Type': 'application/json' },
        body: '{"version":0,"ticket":0}',
      },
      {
        encType: vector.enc_type as EncType,
        ephemeralSecret: fromHex(vector.client_x25519_secret, 32),
        nonce: request.subarray(4, 4 + nonceLength),
      },
    );

    t.equal(onion.body.toString('hex'), vector.request);

    const reply = onion.open(Buffer.from(vector.reply, 'hex'));
    t.equal(reply.code, 200);
    t.same(reply.headers, { 'content-type': 'application/json' });
    t.equal(
      reply.body.toString('latin1'),
      '{"result":{"list":[],"ticket":0,"version":0},"status":200}',
    );
  });
}

t.test('each request uses a fresh ephemeral key and xchacha20-poly1305 unless asked', async (t) => {
  const inner = { method: 'POST', endpoint: '/x' } as const;
  const first = buildOnionRequest(server.publicKey, inner);
  const second = buildOnionRequest(server.publicKey, inner);

  t.not(first.body.toString('hex'), second.body.toString('hex'));
  t.match(first.body.toString('latin1'), /"enc_type": "xchacha20-poly1305"}$/);
  t.equal(Buffer.from(openEnvelope(first.body, server).plaintext).toString('latin1'),
    'l46:{"method":"POST","endpoint":"/x","headers":{}}e');
});

t.test('a reply that does not authenticate is refused', async (t) => {
  const onion = buildOnionRequest(server.publicKey, { method: 'POST', endpoint: '/x' });
  const reply = encrypt('xchacha20', fromHex('00'.repeat(32), 32), Buffer.from('l2:{}e'));

  t.throws(() => onion.open(reply), { name: 'OnionEnvelopeError' });
});
