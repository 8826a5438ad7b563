/**
 * The protocol's error envelope, `{"msg": [...], "status": <code>}`. Kept here rather than
 * imported from src/http so that the onion layer does not depend on the app that mounts it.
 */

export interface ErrorEnvelope {
  msg: string[];
  status: number;
}

export function errorEnvelope(status: number, msg: string[]): ErrorEnvelope {
  return { msg, status };
}
