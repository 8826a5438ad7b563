import t from 'tap';
import { proofHoldsPro, proofSignatureIsValid } from '../../src/client/index.ts';
import { vectors } from '../support/vectors.ts';

const v = vectors.proof[0]!;
const proof = {
  version: 0,
  gen_index_hash: v.gen_index_hash,
  rotating_pkey: v.rotating_pkey,
  expiry_unix_ts_s: v.expiry_unix_ts_s,
  sig: v.sig,
};
const backendPkey = vectors.keys.backend_pkey;
const noRevocations = { version: 0, ticket: 0, list: [] };
const before = v.expiry_unix_ts_s - 1;

t.test('a vector proof holds Pro until its expiry', async (t) => {
  t.ok(proofSignatureIsValid(proof, backendPkey));
  t.ok(proofHoldsPro(proof, backendPkey, noRevocations, before));
  t.notOk(proofHoldsPro(proof, backendPkey, noRevocations, v.expiry_unix_ts_s));
});

t.test('a proof of any version but 0 is refused, even one whose byte would wrap to 0', async (t) => {
  for (const version of [1, 255, 256, 512, -256, 0.5]) {
    const other = { ...proof, version };
    t.notOk(proofSignatureIsValid(other, backendPkey), `version ${version}`);
    t.notOk(proofHoldsPro(other, backendPkey, noRevocations, before), `version ${version}`);
  }
});
