/** The benchmark's verdict: targets from issue 5, the printed table and the JSON record. */
import Table from 'cli-table3';
import type { WorkerUsage } from './cluster.ts';
import type { AllCoresFloor, CryptoFloor } from './crypto-floor.ts';
import type { ScenarioResult } from './load.ts';

export interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
}

export interface Target {
  what: string;
  required: string;
  measured: string;
  met: boolean;
}

export interface BenchRecord {
  date: string;
  machine: Machine;
  settings: {
    workers: number;
    connections: number;
    seconds: number;
    warmUpSeconds: number;
    /** The warm-up of the first scenario on a freshly started server. */
    freshServerWarmUpSeconds: number;
  };
  seed: { subscribers: number; revocations: number; ticket: number; seconds: number };
  cryptoFloor: CryptoFloor;
  /** The same crypto in one process per worker at once: what the cores give together. */
  cryptoFloorAllCores: AllCoresFloor;
  scenarios: ScenarioResult[];
  workers: WorkerUsage[];
  checks: { name: string; ok: boolean; detail: string }[];
  targets: Target[];
  failedRequests: number;
  ok: boolean;
}

export const SCENARIO = {
  proof: 'get_pro_subscription_proof',
  onionProof: 'onion: get_pro_subscription_proof',
  addPayment: 'add_payment',
  revocationsFull: 'get_revocations, ticket 0 (1,000 entries)',
  revocationsCurrent: 'get_revocations, current ticket (empty)',
  yardstick: 'yardstick: bare node:http, floor crypto only',
} as const;

const MAX_WORKER_RSS_MB = 150;

/** No colours: the table is pasted into the README and read from logs. */
const PLAIN = { head: [], border: [] };

const fixed = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The scenario's rate, or undefined when --only left it out of the run. */
function rateOf(scenarios: ScenarioResult[], name: string): number | undefined {
  return scenarios.find((s) => s.name === name)?.requestsPerS;
}

function atLeast(
  what: string,
  measured: number | undefined,
  required: number,
  note: string,
): Target {
  const base = { what, required: `>= ${fixed(required)} req/s${note}` };
  if (measured === undefined) return { ...base, measured: 'not run', met: false };
  return {
    ...base,
    measured: `${fixed(measured)} req/s (${fixed((100 * measured) / required)}%)`,
    met: measured >= required,
  };
}

/** The acceptance figures of issue 5, applied to one run. */
export function targets(
  scenarios: ScenarioResult[],
  floor: CryptoFloor,
  workers: WorkerUsage[],
): Target[] {
  const floorTarget = 0.7 * floor.perCore * workers.length;
  const proofTarget = Math.min(floorTarget, 4_000);
  const proofNote =
    proofTarget < 4_000 ? ` (70% of floor x ${workers.length} workers)` : ' (the 4,000 cap)';
  const peak = Math.max(...workers.map((w) => w.peakRssMb));
  const failed = scenarios.reduce((sum, s) => sum + s.failed, 0);
  return [
    atLeast(SCENARIO.proof, rateOf(scenarios, SCENARIO.proof), proofTarget, proofNote),
    atLeast(
      SCENARIO.revocationsCurrent,
      rateOf(scenarios, SCENARIO.revocationsCurrent),
      10_000,
      '',
    ),
    atLeast(SCENARIO.revocationsFull, rateOf(scenarios, SCENARIO.revocationsFull), 3_000, ''),
    {
      what: 'failed requests, all scenarios',
      required: '0',
      measured: fixed(failed),
      met: failed === 0,
    },
    {
      what: 'peak RSS of each worker',
      required: `< ${MAX_WORKER_RSS_MB} MB`,
      measured: `${fixed(peak, 1)} MB (largest)`,
      met: workers.length > 0 && peak < MAX_WORKER_RSS_MB,
    },
  ];
}

/**
 * How the product's proof route and the yardstick (scripts/bench/yardstick-server.ts) compare
 * with the floor: the yardstick's share is what Node's HTTP and the load generator leave of it.
 */
function yardstickLine(scenarios: ScenarioResult[], floorRate: number): string | undefined {
  const yardstick = rateOf(scenarios, SCENARIO.yardstick);
  const proof = rateOf(scenarios, SCENARIO.proof);
  if (!yardstick || floorRate === 0) return undefined;
  const percent = (rate: number, of: number) => `${fixed((100 * rate) / of)}%`;
  const product =
    proof
      ? `; ${SCENARIO.proof}: ${percent(proof, floorRate)} of it, ${percent(proof, yardstick)} ` +
        'of the yardstick'
      : '';
  return (
    `floor x workers: ${fixed(floorRate)} req/s; yardstick (not the product): ` +
    `${percent(yardstick, floorRate)} of it${product}`
  );
}

export function renderTables(record: BenchRecord): string {
  const { machine, settings, cryptoFloor: floor, cryptoFloorAllCores: allCores } = record;
  const lines: string[] = [];
  lines.push(
    `Session Pro backend benchmark, ${record.date}`,
    `machine: ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}, ${machine.platform}`,
    `server: ${settings.workers} workers; load: ${settings.connections} connections, ` +
      `${settings.seconds} s per scenario after ${settings.warmUpSeconds} s of warm-up ` +
      `(${settings.freshServerWarmUpSeconds} s for a freshly started server's first scenario)`,
    `seed: ${fixed(record.seed.subscribers)} subscribers, ${fixed(record.seed.revocations)} ` +
      `revocations, ticket ${record.seed.ticket} (${fixed(record.seed.seconds, 1)} s)`,
  );

  const scenarios = new Table({
    head: [
      'scenario',
      'req/s',
      'p50 ms',
      'p99 ms',
      'non-200',
      'requests',
      'server CPU us/req',
      'client CPU us/req',
      'other load',
      'peak RSS MB',
    ],
    colAligns: ['left', ...Array<'right'>(9).fill('right')],
    style: PLAIN,
  });
  for (const s of record.scenarios) {
    const name = s.poolExhausted ? `${s.name} (pool ran dry at ${fixed(s.seconds, 1)} s)` : s.name;
    scenarios.push([
      name,
      fixed(s.requestsPerS),
      fixed(s.p50Ms, 1),
      fixed(s.p99Ms, 1),
      fixed(s.failed),
      fixed(s.requests),
      `${fixed(s.serverCpuUsPerRequest)} (${fixed(s.serverSystemUsPerRequest)} sys)`,
      fixed(s.clientCpuUsPerRequest),
      `${fixed(s.otherLoadPercent)}%`,
      fixed(s.workerPeakRssMb, 1),
    ]);
  }
  lines.push(scenarios.toString());

  lines.push(
    `crypto floor (2 x verifyClientSignature + 1 x BackendKey.sign, one core): ` +
      `${fixed(floor.perCore)} req/s per core ` +
      `(verify x2 ${fixed(floor.verifyUs)} us + sign ${fixed(floor.signUs)} us; ` +
      `best of ${floor.rounds} rounds, median ${fixed(floor.medianPerCore)})`,
    `crypto floor in ${allCores.processes} processes at once: ${fixed(allCores.total)} req/s ` +
      `together, ${fixed(allCores.perProcess)} per process ` +
      `(${fixed((100 * allCores.perProcess) / floor.perCore)}% of the one-core floor; ` +
      `best of ${allCores.windows} windows of ${fixed(allCores.windowMs)} ms)`,
  );

  const yardstick = yardstickLine(record.scenarios, floor.perCore * settings.workers);
  if (yardstick) lines.push(yardstick);

  const workers = new Table({
    head: ['worker pid', 'peak RSS MB', 'RSS at end MB', 'CPU s'],
    colAligns: ['left', 'right', 'right', 'right'],
    style: PLAIN,
  });
  for (const w of record.workers) {
    workers.push([String(w.pid), fixed(w.peakRssMb, 1), fixed(w.rssMb, 1), fixed(w.cpuSeconds, 1)]);
  }
  lines.push(workers.toString());

  const verdict = new Table({
    head: ['target (issue 5)', 'required', 'measured', 'met'],
    colAligns: ['left', 'left', 'left', 'left'],
    style: PLAIN,
  });
  for (const t of record.targets) {
    verdict.push([t.what, t.required, t.measured, t.met ? 'yes' : 'NO']);
  }
  lines.push(verdict.toString());

  for (const check of record.checks) {
    lines.push(`check: ${check.ok ? 'ok' : 'FAILED'} - ${check.name}: ${check.detail}`);
  }
  return lines.join('\n');
}
