/**
 * The checks /add_payment and /get_pro_subscription_proof share: both name a master key and a
 * rotating key, and both keys sign the same request hash.
 */
import {
  bytesEqual,
  fromHex,
  publicKeyProblem,
  verifyClientSignature,
  type Hash32,
  type PublicKey,
} from '../protocol/index.ts';
import { RequestError } from './errors.ts';

export interface SignedFields {
  master_pkey: string;
  rotating_pkey: string;
  master_sig: string;
  rotating_sig: string;
}

export interface SignerKeys {
  masterPkey: PublicKey;
  rotatingPkey: PublicKey;
}

/**
 * Decodes the keys (already hex-checked by the schema), refuses the ones the protocol bans and
 * checks both signatures over the request hash, which `hashOf` builds from the decoded keys.
 * Every problem found is listed in one refusal, after the route's own findings in `problems`. A
 * signature is not checked when its key is banned: it could only fail, and the key is named.
 */
export function verifiedSigners(
  fields: SignedFields,
  hashOf: (keys: SignerKeys) => Hash32,
  problems: string[] = [],
): SignerKeys {
  const keys: SignerKeys = {
    masterPkey: fromHex(fields.master_pkey, 32),
    rotatingPkey: fromHex(fields.rotating_pkey, 32),
  };
  const masterProblem = publicKeyProblem(keys.masterPkey);
  if (masterProblem) problems.push(`master_pkey ${masterProblem}`);
  const rotatingProblem = publicKeyProblem(keys.rotatingPkey);
  if (rotatingProblem) problems.push(`rotating_pkey ${rotatingProblem}`);
  if (bytesEqual(keys.masterPkey, keys.rotatingPkey)) {
    problems.push('master_pkey and rotating_pkey must differ');
  }
  if (fields.master_sig.toLowerCase() === fields.rotating_sig.toLowerCase()) {
    problems.push('master_sig and rotating_sig must differ');
  }

  const hash = hashOf(keys);
  const masterSig = fromHex(fields.master_sig, 64);
  if (!masterProblem && !verifyClientSignature(keys.masterPkey, hash, masterSig)) {
    problems.push('master_sig does not verify against master_pkey');
  }
  const rotatingSig = fromHex(fields.rotating_sig, 64);
  if (!rotatingProblem && !verifyClientSignature(keys.rotatingPkey, hash, rotatingSig)) {
    problems.push('rotating_sig does not verify against rotating_pkey');
  }
  if (problems.length > 0) throw new RequestError(400, problems);
  return keys;
}
