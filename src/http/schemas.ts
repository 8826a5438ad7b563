/**
 * TypeBox schemas for every request and response: the source of truth for both validation and
 * the handlers' types. Response properties are listed in sorted order, as the original service
 * serialized them, so the bytes on the wire match it.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Exactly `bytes` bytes of hex, either case. The error formatter reads the length back. */
const Hex = (bytes: number, description: string) =>
  Type.String({ pattern: `^[0-9a-fA-F]{${bytes * 2}}$`, description });

const Version = Type.Literal(0, { description: 'protocol version; must be 0' });
const UnixSeconds = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const AddPaymentRequest = Type.Object({
  version: Version,
  master_pkey: Hex(32, "the subscriber's Ed25519 master public key"),
  rotating_pkey: Hex(32, 'the Ed25519 rotating public key the proof is for'),
  payment_token: Hex(32, 'BLAKE2b hash of the store payment token'),
  master_sig: Hex(64, 'master key signature over the add-payment hash'),
  rotating_sig: Hex(64, 'rotating key signature over the add-payment hash'),
});
export type AddPaymentRequest = Static<typeof AddPaymentRequest>;

export const GetProofRequest = Type.Object({
  version: Version,
  master_pkey: Hex(32, "the subscriber's Ed25519 master public key"),
  rotating_pkey: Hex(32, 'the Ed25519 rotating public key the proof is for'),
  unix_ts_s: UnixSeconds,
  master_sig: Hex(64, 'master key signature over the get-proof hash'),
  rotating_sig: Hex(64, 'rotating key signature over the get-proof hash'),
});
export type GetProofRequest = Static<typeof GetProofRequest>;

export const GetRevocationsRequest = Type.Object({
  version: Version,
  ticket: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
});
export type GetRevocationsRequest = Static<typeof GetRevocationsRequest>;

export const Proof = Type.Object({
  expiry_unix_ts_s: Type.Integer(),
  gen_index_hash: Type.String(),
  rotating_pkey: Type.String(),
  sig: Type.String(),
  version: Type.Integer(),
});

export const Revocation = Type.Object({
  expiry_unix_ts_s: Type.Integer(),
  gen_index_hash: Type.String(),
});

export const RevocationList = Type.Object({
  list: Type.Array(Revocation),
  ticket: Type.Integer(),
  version: Type.Integer(),
});
export type RevocationList = Static<typeof RevocationList>;

export const ErrorReply = Type.Object({
  msg: Type.Array(Type.String()),
  status: Type.Integer(),
});

/** The success envelope around a result, with the error envelopes a route may answer. */
export function replies<T extends TSchema>(result: T) {
  return {
    200: Type.Object({ result, status: Type.Literal(200) }),
    '4xx': ErrorReply,
    '5xx': ErrorReply,
  };
}

export const Health = Type.Object({
  backend_pkey: Type.String(),
  ok: Type.Boolean(),
});
