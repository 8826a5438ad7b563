/** A small HTTP client for the Session Pro backend's direct (non-onion) routes. */
import { messageOf } from '../error-message.ts';
import type { ProofJson } from '../protocol/index.ts';
import {
  addPaymentBody,
  getProofBody,
  getRevocationsBody,
  type ClientKeys,
  type RevocationListJson,
} from './requests.ts';

/**
 * A route's answer: the envelope as sent, with `ok` added so that TypeScript can tell the two
 * apart (`status` alone cannot: the error's status is a number too).
 */
export type Reply<T> =
  | { ok: true; status: 200; result: T }
  | { ok: false; status: number; msg: string[] };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

export class ProBackendClient {
  constructor(readonly baseUrl: string) {}

  /** Sends one request. Throws when the backend cannot be reached, naming the address. */
  async post<T>(endpoint: string, body: unknown): Promise<Reply<T>> {
    const url = new URL(endpoint, this.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (error) {
      // fetch says only "fetch failed"; why is in its cause (ECONNREFUSED, a DNS failure).
      const cause = (error as { cause?: unknown }).cause ?? error;
      throw new Error(`cannot reach the backend at ${url.href}: ${messageOf(cause)}`, { cause });
    }
    const text = await response.text();
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch {
      envelope = undefined;
    }
    if (isObject(envelope)) {
      if (response.status === 200 && envelope.status === 200 && 'result' in envelope) {
        return { ok: true, status: 200, result: envelope.result as T };
      }
      const { status, msg } = envelope;
      if (typeof status === 'number' && isStringArray(msg) && status !== 200) {
        return { ok: false, status, msg };
      }
    }
    // Not the backend's envelope: a proxy's error page, say.
    const problem = `the reply is not the backend's JSON envelope: ${text.slice(0, 80)}`;
    return { ok: false, status: response.status, msg: [problem] };
  }

  addPayment(keys: ClientKeys, paymentToken: Uint8Array): Promise<Reply<ProofJson>> {
    return this.post('/add_payment', addPaymentBody(keys, paymentToken));
  }

  getProof(keys: ClientKeys, unixTsS?: number): Promise<Reply<ProofJson>> {
    return this.post('/get_pro_subscription_proof', getProofBody(keys, unixTsS));
  }

  getRevocations(ticket: number): Promise<Reply<RevocationListJson>> {
    return this.post('/get_revocations', getRevocationsBody(ticket));
  }
}
