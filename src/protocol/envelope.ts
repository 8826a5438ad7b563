/**
 * The protocol's refusal envelope, `{"msg": ["one sentence per problem", ...], "status": <code>}`.
 * Both the HTTP routes and the onion layer answer with it.
 */

export interface ErrorEnvelope {
  msg: string[];
  status: number;
}

export function errorEnvelope(status: number, msg: string[]): ErrorEnvelope {
  return { msg, status };
}
