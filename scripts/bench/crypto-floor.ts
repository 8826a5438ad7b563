/**
 * The crypto floor of one signed request, on one core: the two client signature verifications
 * and the one proof signature, with the server's own functions, on distinct inputs. No request
 * that needs all three can be served faster than this by one core.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  BackendKey,
  fixedBytes,
  verifyClientSignature,
  type Hash32,
  type Signature,
} from '../../src/protocol/index.ts';
import { signWith } from './client-keys.ts';
import type { FromFloorProcess, WindowPlan } from './crypto-floor-process.ts';
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

/** Requests run before timing, so that the JIT has compiled the path. */
export const WARM_UP_REQUESTS = 300;

export interface Input {
  pair: KeyPair;
  hash: Hash32;
  masterSig: Signature;
  rotatingSig: Signature;
}

/** `count` requests' worth of crypto input, each on its own key pair and hash. */
export function floorInputs(keys: KeyMaterial, from: number, count: number): Input[] {
  return Array.from({ length: count }, (_, i) => {
    const pair = pairAt(keys, from + i);
    const hash = fixedBytes(randomBytes(32), 32);
    const masterSig = signWith(pair.master, hash);
    return { pair, hash, masterSig, rotatingSig: signWith(pair.rotating, hash) };
  });
}

/** One request's crypto: what the floor times. */
export function floorRequest(backendKey: BackendKey, input: Input): void {
  verifyBoth(input);
  backendKey.sign(input.hash);
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
  const warmUp = floorInputs(keys, 0, WARM_UP_REQUESTS);
  for (const input of warmUp) floorRequest(backendKey, input);

  const results: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    results.push(timeRound(backendKey, floorInputs(keys, warmUp.length + r * perRound, perRound)));
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

export interface AllCoresFloor {
  processes: number;
  /** Requests per second all processes finished together, in the best window. */
  total: number;
  /** total / processes: what each core did while the others were busy too. */
  perProcess: number;
  windowMs: number;
  windows: number;
}

const PROCESS_ENTRY = fileURLToPath(new URL('./crypto-floor-process.ts', import.meta.url));
const WINDOW_MS = 500;
const WINDOWS = 4;
/** From the last process's "ready" to the first window: time for the plan to arrive. */
const START_DELAY_MS = 200;
const PROCESS_TIMEOUT_MS = 60_000;

function runFloorProcesses(processes: number): Promise<number[][]> {
  const children = Array.from({ length: processes }, () =>
    fork(PROCESS_ENTRY, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' }),
  );
  const done = new Promise<number[][]>((resolve, reject) => {
    let ready = 0;
    const counts: number[][] = [];
    const timer = setTimeout(() => reject(new Error('crypto floor processes timed out')), PROCESS_TIMEOUT_MS);
    for (const child of children) {
      child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`a crypto floor process exited with ${code}`));
      });
      child.on('message', (message: FromFloorProcess) => {
        if (message.kind === 'ready' && ++ready === processes) {
          const plan: WindowPlan = {
            startAtMs: Date.now() + START_DELAY_MS,
            windowMs: WINDOW_MS,
            windows: WINDOWS,
          };
          for (const each of children) each.send(plan);
        } else if (message.kind === 'counts') {
          counts.push(message.counts);
          if (counts.length === processes) {
            clearTimeout(timer);
            resolve(counts);
          }
        }
      });
    }
  });
  return done.finally(() => {
    for (const child of children) if (child.exitCode === null) child.kill();
  });
}

/**
 * The crypto floor with every core busy at once: one process per worker, each doing nothing but
 * the floor's crypto over the same wall-clock windows, as the cluster's workers do under load.
 * The best window counts, as for the one-core floor. Where the cores share caches, memory
 * bandwidth or a host's time, this is below processes x the one-core floor.
 */
export async function measureCryptoFloorOnAllCores(processes: number): Promise<AllCoresFloor> {
  const counts = await runFloorProcesses(processes);
  let best = 0;
  for (let w = 0; w < WINDOWS; w++) {
    best = Math.max(best, counts.reduce((sum, each) => sum + each[w]!, 0));
  }
  const total = best / (WINDOW_MS / 1000);
  return { processes, total, perProcess: total / processes, windowMs: WINDOW_MS, windows: WINDOWS };
}
