/** An app on a fresh in-memory ledger with a clock the test moves, and fresh client keys. */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { Ledger } from '../../src/ledger/index.ts';
import type { ClientKeys } from '../../src/client/index.ts';
import { toHex, type PaymentToken } from '../../src/protocol/index.ts';

/** 2025-08-01 12:00:00 UTC: midday, so day_ceil moves it. */
export const NOON = 1_754_049_600;
export const DAY = 86_400;

export interface TestApp {
  app: FastifyInstance;
  ledger: Ledger;
  clock: { now: number };
  backendPkey: string;
  post(url: string, payload: unknown): Promise<{ status: number; body: any }>;
  witness(days: number): PaymentToken;
}

export async function testApp(start = NOON): Promise<TestApp> {
  const clock = { now: start };
  const ledger = new Ledger(new Database(':memory:'), () => clock.now);
  const app = await buildApp({ ledger });
  return {
    app,
    ledger,
    clock,
    backendPkey: toHex(ledger.backendKey.publicKey),
    async post(url, payload) {
      const reply = await app.inject({ method: 'POST', url, payload: payload as object });
      return { status: reply.statusCode, body: reply.json() };
    },
    witness(days) {
      const token = randomBytes(32) as unknown as PaymentToken;
      ledger.witness(token, days);
      return token;
    },
  };
}

export function freshKeys(): ClientKeys {
  return { masterSeed: randomBytes(32), rotatingSeed: randomBytes(32) };
}
