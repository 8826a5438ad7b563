/**
 * The crypto floor of one signed request, on one core: the two client signature verifications
 * and the one proof signature, with the server's own functions, on distinct inputs. No request
 * that needs all three can be served faster than this by one core.
 */
import { randomBytes } from 'node:crypto';
import {
  BackendKey,
  fixedBytes,
  verifyClientSignature,
  type Hash32,
  type Signature,
} from '../../src/protocol/index.ts';
import { signWith } from './client-keys.ts';
import { pairAt, type KeyMaterial, type KeyPair } from './requests.ts';

export interface CryptoFloor {
  /** Requests per second one core could serve if the crypto were all it did (best round). */
  perCore: number;
  /** The median round, for comparison: far below the best means the machine was busy. */
  medianPerCore: number;
  iterations: number;
  rounds: number;
  /** Microseconds per request in the best round, split by step. */
  verifyUs: number;
  signUs: number;
}

interface Input {
  pair: KeyPair;
  hash: Hash32;
  masterSig: Signature;
  rotatingSig: Signature;
}

function inputs(keys: KeyMaterial, from: number, count: number): Input[] {
  return Array.from({ length: count }, (_, i) => {
    const pair = pairAt(keys, from + i);
    const hash = fixedBytes(randomBytes(32), 32);
    const masterSig = signWith(pair.master, hash);
    return { pair, hash, masterSig, rotatingSig: signWith(pair.rotating, hash) };
  });
}

function verifyBoth(input: Input): void {
  const { pair, hash } = input;
  if (
    !verifyClientSignature(pair.master.publicKey, hash, input.masterSig) ||
    !verifyClientSignature(pair.rotating.publicKey, hash, input.rotatingSig)
  ) {
    throw new Error('crypto floor: a valid signature did not verify');
  }
}

interface Round {
  perCore: number;
  verifyUs: number;
  signUs: number;
}

function timeRound(backendKey: BackendKey, timed: Input[]): Round {
  let verifyNs = 0n;
  let signNs = 0n;
  for (const input of timed) {
    const t0 = process.hrtime.bigint();
    verifyBoth(input);
    const t1 = process.hrtime.bigint();
    backendKey.sign(input.hash);
    signNs += process.hrtime.bigint() - t1;
    verifyNs += t1 - t0;
  }
  return {
    perCore: timed.length / (Number(verifyNs + signNs) / 1e9),
    verifyUs: Number(verifyNs) / 1e3 / timed.length,
    signUs: Number(signNs) / 1e3 / timed.length,
  };
}

/**
 * Times `rounds` rounds of `perRound` requests' crypto after a warm-up, each request on its own
 * keys and hash. The best round counts: on a shared machine, other processes only ever slow a
 * round down, so the fastest one is the closest to what one core can do.
 */
export function measureCryptoFloor(keys: KeyMaterial, rounds = 5, perRound = 400): CryptoFloor {
  const backendKey = BackendKey.generate();
  const warmUp = inputs(keys, 0, 300);
  for (const input of warmUp) {
    verifyBoth(input);
    backendKey.sign(input.hash);
  }

  const results: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    results.push(timeRound(backendKey, inputs(keys, warmUp.length + r * perRound, perRound)));
  }
  const byRate = [...results].sort((a, b) => b.perCore - a.perCore);
  const best = byRate[0]!;
  return {
    perCore: best.perCore,
    medianPerCore: byRate[Math.floor(rounds / 2)]!.perCore,
    iterations: rounds * perRound,
    rounds,
    verifyUs: best.verifyUs,
    signUs: best.signUs,
  };
}
