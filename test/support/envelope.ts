/** Checking a reply against the protocol's error envelope, `{"msg": [...], "status": <code>}`. */

/**
 * Why `body` is not the error envelope for `status`, or undefined when it is: a JSON object with
 * exactly `msg` (a non-empty list of non-empty sentences) and `status` (equal to the HTTP status).
 */
export function envelopeProblem(status: number, body: string | Uint8Array): string | undefined {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `body is not JSON: ${JSON.stringify(text.slice(0, 200))}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return `body is not a JSON object: ${text.slice(0, 200)}`;
  }
  const { msg, status: bodyStatus, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length > 0)
    return `body has fields besides msg and status: ${text.slice(0, 200)}`;
  if (bodyStatus !== status)
    return `body status ${String(bodyStatus)} is not the HTTP status ${status}`;
  if (!Array.isArray(msg) || msg.length === 0)
    return `msg is not a non-empty list: ${text.slice(0, 200)}`;
  if (!msg.every((m) => typeof m === 'string' && m.length > 0)) {
    return `msg holds something other than sentences: ${text.slice(0, 200)}`;
  }
  return undefined;
}

export function isClientErrorStatus(status: number): boolean {
  return status >= 400 && status <= 499;
}
