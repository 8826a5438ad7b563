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
 * Decodes the keys (already hex-checked by the schema) and refuses the ones the protocol bans.
 * `problems` may carry the route's own findings so that the refusal lists them all.
 */
export function signerKeys(fields: SignedFields, problems: string[] = []): SignerKeys {
  const masterPkey = fromHex(fields.master_pkey, 32);
  const rotatingPkey = fromHex(fields.rotating_pkey, 32);
  const masterProblem = publicKeyProblem(masterPkey);
  if (masterProblem) problems.push(`master_pkey ${masterProblem}`);
  const rotatingProblem = publicKeyProblem(rotatingPkey);
  if (rotatingProblem) problems.push(`rotating_pkey ${rotatingProblem}`);
  if (bytesEqual(masterPkey, rotatingPkey)) problems.push('master_pkey and rotating_pkey must differ');
  if (fields.master_sig.toLowerCase() === fields.rotating_sig.toLowerCase()) {
    problems.push('master_sig and rotating_sig must differ');
  }
  if (problems.length > 0) throw new RequestError(400, problems);
  return { masterPkey, rotatingPkey };
}

/** Both signatures must verify over `hash`; each one that does not is named. */
export function requireSignatures(keys: SignerKeys, fields: SignedFields, hash: Hash32): void {
  const problems: string[] = [];
  const masterSig = fromHex(fields.master_sig, 64);
  if (!verifyClientSignature(keys.masterPkey, hash, masterSig)) {
    problems.push('master_sig does not verify against master_pkey');
  }
  const rotatingSig = fromHex(fields.rotating_sig, 64);
  if (!verifyClientSignature(keys.rotatingPkey, hash, rotatingSig)) {
    problems.push('rotating_sig does not verify against rotating_pkey');
  }
  if (problems.length > 0) throw new RequestError(400, problems);
}
