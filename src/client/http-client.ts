/** A small HTTP client for the Session Pro backend's direct (non-onion) routes. */
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

export class ProBackendClient {
  constructor(readonly baseUrl: string) {}

  async post<T>(endpoint: string, body: unknown): Promise<Reply<T>> {
    const response = await fetch(new URL(endpoint, this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let envelope: { status?: number; result?: T; msg?: string[] };
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      // Not the backend's envelope: a proxy's error page, say.
      const problem = `the reply is not JSON: ${text.slice(0, 80)}`;
      return { ok: false, status: response.status, msg: [problem] };
    }
    if (response.status === 200 && envelope.status === 200) {
      return { ok: true, status: 200, result: envelope.result as T };
    }
    return { ok: false, status: envelope.status ?? response.status, msg: envelope.msg ?? [] };
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
