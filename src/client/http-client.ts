/** A small HTTP client for the Session Pro backend's direct (non-onion) routes. */
import type { ProofJson } from '../protocol/index.ts';
import {
  addPaymentBody,
  getProofBody,
  getRevocationsBody,
  type ClientKeys,
  type RevocationListJson,
} from './requests.ts';

export type Reply<T> =
  | { status: 200; result: T }
  | { status: number; msg: string[] };

export class ProBackendClient {
  constructor(readonly baseUrl: string) {}

  async post<T>(endpoint: string, body: unknown): Promise<Reply<T>> {
    const response = await fetch(new URL(endpoint, this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as Reply<T>;
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
