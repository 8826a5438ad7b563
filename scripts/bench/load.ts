/**
 * One scenario under load: autocannon with a fixed number of connections for a fixed time. A
 * signed scenario takes each request's body in turn from a pool of distinct bodies, so every
 * request is one the server has not seen; its run also stops when the pool would run dry, and
 * says so. The machine is shared, so the CPU that other processes used meanwhile is measured too.
 */
import { readFileSync } from 'node:fs';
import autocannon, { type Request, type RequestParams } from 'autocannon';
import type { Cluster } from './cluster.ts';

export type Pool =
  | { kind: 'distinct'; next(): string | Buffer; remaining(): number }
  | { kind: 'constant'; body: string };

/** A pool of distinct bodies, each given out once. */
export function distinctPool(bodies: (string | Buffer)[]): Pool {
  let at = 0;
  return {
    kind: 'distinct',
    next: () => bodies[Math.min(at++, bodies.length - 1)]!,
    remaining: () => bodies.length - at,
  };
}

/** The same body every time (requests without signatures): autocannon builds it once. */
export function constantPool(body: string): Pool {
  return { kind: 'constant', body };
}

export interface Scenario {
  name: string;
  path: string;
  contentType: string;
  pool: Pool;
  /** Counts replies that are HTTP 200 but not a success (an onion reply's inner code). */
  isFailure?: (headers: Record<string, string>) => boolean;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
}

export interface ScenarioResult {
  name: string;
  requests: number;
  seconds: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-200 replies, connection errors, timeouts and 200s that were not a success. */
  failed: number;
  statusCounts: Record<string, number>;
  /** The pool ran dry before the time was up, so the run is shorter. */
  poolExhausted: boolean;
  /** Workers' CPU time per request, in microseconds: what one request costs the server. */
  serverCpuUsPerRequest: number;
  /** The kernel's part of serverCpuUsPerRequest. */
  serverSystemUsPerRequest: number;
  /** The load generator's CPU time per request (it shares the machine with the server). */
  clientCpuUsPerRequest: number;
  /** Each worker's share of the CPU time. */
  workerCpuSeconds: number[];
  /** Share of all cores that processes other than the bench and the server used meanwhile. */
  otherLoadPercent: number;
  /** The largest worker's peak RSS so far (VmHWM), read when the scenario ended. */
  workerPeakRssMb: number;
}

const CLOCK_TICKS = 100;

/** Busy and total CPU time of the whole machine, in seconds, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + ticks[4]!;
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits, up to `maxSeconds`, for a second in which other processes use less than
 * `maxOtherPercent` of the machine. Returns the share they used in the last second sampled.
 */
export async function waitForIdle(
  cluster: Cluster | undefined,
  maxSeconds: number,
  maxOtherPercent = 10,
): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000;
  const ours = () => {
    const own = process.cpuUsage();
    const server = cluster?.usage().reduce((sum, w) => sum + w.cpuSeconds, 0) ?? 0;
    return server + (own.user + own.system) / 1e6;
  };
  for (;;) {
    const before = machineCpu();
    const oursBefore = ours();
    await sleep(1000);
    const after = machineCpu();
    const busy = after.busy - before.busy - (ours() - oursBefore);
    const other = Math.max(0, (100 * busy) / (after.total - before.total));
    if (other < maxOtherPercent || Date.now() >= deadline) return other;
  }
}

function requestFor(scenario: Scenario, onResponse: Request['onResponse']) {
  const base = {
    method: 'POST',
    path: scenario.path,
    headers: { 'content-type': scenario.contentType },
    ...(onResponse ? { onResponse } : {}),
  };
  const { pool } = scenario;
  if (pool.kind === 'constant') return { ...base, body: pool.body };
  return {
    ...base,
    setupRequest: (request: RequestParams) => ({ ...request, body: pool.next() }),
  };
}

export async function runLoad(
  scenario: Scenario,
  options: LoadOptions,
  cluster: Cluster,
): Promise<ScenarioResult> {
  const { pool } = scenario;
  // Each connection builds one request ahead of its replies; keep those from the pool's end.
  const budget = pool.kind === 'distinct' ? pool.remaining() - options.connections : Infinity;
  if (budget <= 0) throw new Error(`${scenario.name}: the request pool is empty`);
  let badReplies = 0;
  const isFailure = scenario.isFailure;
  const onResponse = isFailure
    ? (status: number, _body: string, _context: object, headers: Record<string, string>) => {
        if (status === 200 && isFailure(headers)) badReplies++;
      }
    : undefined;

  const before = cluster.usage();
  const clientBefore = process.cpuUsage();
  const machineBefore = machineCpu();
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    ...(Number.isFinite(budget) ? { maxOverallRequests: budget } : {}),
    requests: [requestFor(scenario, onResponse)],
  });
  const machineAfter = machineCpu();
  const client = process.cpuUsage(clientBefore);
  const after = cluster.usage();

  const workerCpuSeconds = after.map((w, i) => w.cpuSeconds - (before[i]?.cpuSeconds ?? 0));
  const serverCpu = workerCpuSeconds.reduce((a, b) => a + b, 0);
  const serverSystem = after.reduce(
    (sum, w, i) => sum + w.systemSeconds - (before[i]?.systemSeconds ?? 0),
    0,
  );
  const clientCpu = (client.user + client.system) / 1e6;
  const machineBusy = machineAfter.busy - machineBefore.busy;
  const machineTotal = machineAfter.total - machineBefore.total;
  const requests = result.requests.total;
  const perRequestUs = (seconds: number) => (requests > 0 ? (seconds * 1e6) / requests : 0);
  return {
    name: scenario.name,
    requests,
    seconds: result.duration,
    requestsPerS: requests / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failed: result.non2xx + result.errors + badReplies,
    statusCounts: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
    ),
    poolExhausted: pool.kind === 'distinct' && pool.remaining() <= options.connections,
    serverCpuUsPerRequest: perRequestUs(serverCpu),
    serverSystemUsPerRequest: perRequestUs(serverSystem),
    clientCpuUsPerRequest: perRequestUs(clientCpu),
    workerCpuSeconds,
    otherLoadPercent: Math.max(0, (100 * (machineBusy - serverCpu - clientCpu)) / machineTotal),
    workerPeakRssMb: Math.max(...after.map((w) => w.peakRssMb)),
  };
}
