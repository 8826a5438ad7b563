/**
 * One process of the all-cores crypto floor (crypto-floor.ts, measureCryptoFloorOnAllCores):
 * forked by the benchmark, it prepares its own keys and inputs, says it is ready, then runs the
 * floor's crypto back to back through the windows the parent names and reports how many
 * requests' worth it finished in each. The windows are wall-clock times, so every process counts
 * over the same instants, as the server's workers share the cores under load.
 */
import { BackendKey } from '../../src/protocol/index.ts';
import { randomClientKeys } from './client-keys.ts';
import { floorInputs, floorRequest, WARM_UP_REQUESTS, type Input } from './crypto-floor.ts';

export interface WindowPlan {
  /** Date.now() at which the first window opens. */
  startAtMs: number;
  windowMs: number;
  windows: number;
}

export type FromFloorProcess = { kind: 'ready' } | { kind: 'counts'; counts: number[] };

/** Distinct inputs per process; the run cycles through them (no step of the crypto caches). */
const INPUTS = 1_000;
const KEYS = 200;

function send(message: FromFloorProcess): void {
  process.send!(message);
}

function runWindows(backendKey: BackendKey, inputs: Input[], plan: WindowPlan): number[] {
  const counts: number[] = [];
  let next = 0;
  while (Date.now() < plan.startAtMs) {
    // Spin: sleeping would let the core's clock drop just before the window opens.
  }
  for (let w = 1; w <= plan.windows; w++) {
    const closesAt = plan.startAtMs + w * plan.windowMs;
    let count = 0;
    while (Date.now() < closesAt) {
      floorRequest(backendKey, inputs[next]!);
      next = (next + 1) % inputs.length;
      count++;
    }
    counts.push(count);
  }
  return counts;
}

if (process.send) {
  const backendKey = BackendKey.generate();
  const keys = { masters: randomClientKeys(KEYS), rotating: randomClientKeys(KEYS) };
  const inputs = floorInputs(keys, 0, INPUTS);
  for (const input of inputs.slice(0, WARM_UP_REQUESTS)) floorRequest(backendKey, input);
  send({ kind: 'ready' });
  process.once('message', (plan: WindowPlan) => {
    send({ kind: 'counts', counts: runWindows(backendKey, inputs, plan) });
    process.disconnect();
  });
}
