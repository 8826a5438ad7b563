/**
 * `npm run bench`: issue 5's benchmark. One run seeds a temporary database through the ledger,
 * measures the crypto floor on one core and then on every worker's core at once, pre-signs the
 * requests, starts the real cluster (dist/main.js, `npm start`'s entry point) with two workers,
 * puts each scenario under load with autocannon, prints the table and writes the same figures as
 * JSON. It exits non-zero when a request or a check failed or the server could not start, and
 * always stops the cluster.
 *
 * Options: --seconds N (per scenario, default 10), --out FILE (default bench-results.json);
 * --wait-idle S (on a shared machine: before each scenario, wait up to S seconds for other
 * processes to go quiet); for profiling, --node-arg ARG (repeatable, given to the node of the
 * product and of the yardstick, e.g. --cpu-prof) and --only TEXT (run only the scenarios whose
 * name starts with TEXT).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WORKER_NODE_ARGS } from '../src/cluster/worker-pool.ts';
import { messageOf } from '../src/error-message.ts';
import { addPaymentBody, getProofBody, proofSignatureIsValid } from '../src/client/index.ts';
import { buildOnionRequest } from '../src/client/onion.ts';
import { fixedBytes, toHex, type PaymentToken, type ProofJson } from '../src/protocol/index.ts';
import { randomClientKeys, type ClientKey } from './bench/client-keys.ts';
import { Cluster, freePort, type ClusterOptions } from './bench/cluster.ts';
import {
  measureCryptoFloor,
  measureCryptoFloorOnAllCores,
  type CryptoFloor,
} from './bench/crypto-floor.ts';
import {
  constantPool,
  distinctPool,
  runLoad,
  waitForIdle,
  type LoadOptions,
  type Scenario,
  type ScenarioResult,
} from './bench/load.ts';
import { buildEnvelope, innerJsonPost, onionServerKey } from './bench/onion-envelopes.ts';
import { presignPools } from './bench/presign.ts';
import { renderTables, SCENARIO, targets, type BenchRecord, type Machine } from './bench/report.ts';
import {
  addPaymentJson,
  encTypeAt,
  getProofJson,
  pairAt,
  type KeyMaterial,
  type PoolJob,
} from './bench/requests.ts';
import { seedDatabase, type SeededDatabase } from './bench/seed.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What `npm start` runs: the compiled entry point (`npm run bench` builds it first). */
const ENTRY = 'dist/main.js';
/** The yardstick server, run from source under tsx: `npm run build` compiles src/ only. */
const YARDSTICK_ENTRY = 'scripts/bench/yardstick-server.ts';

const WORKERS = 2;
const CONNECTIONS = 16;
const WARM_UP_S = 1;
/**
 * Warm-up of the first scenario a freshly started server gets. A fresh worker spends its first
 * seconds under load compiling (V8's background threads: about 0.9 s of CPU across the two
 * workers in the first 4 s of proof load, 0.1-0.2 s in each 4 s after that), which would
 * otherwise be counted against the first scenario.
 */
const FRESH_WARM_UP_S = 4;
const SUBSCRIBERS = 10_000;
/** Subscribers who redeem a second payment: each one revokes a gen index. */
const RENEWALS = 1_000;
/** Rotating keys pair with the masters so that no (master, rotating) pair repeats. */
const ROTATING_KEYS = 4_096;
/** Pools hold this much more than the rate they are sized for could use. */
const POOL_HEADROOM = 1.15;
/** Onion and /add_payment pools: their rate over the direct proof rate, with room to spare. */
const LATER_POOL_HEADROOM = 1.3;
/** Replies checked one by one (signature, onion decryption) before the load. */
const SAMPLES = 8;
const START_TIMEOUT_MS = 30_000;
/** The whole run, whatever happens. */
const RUN_LIMIT_MS = 5 * 60_000;

interface Settings {
  seconds: number;
  out: string;
  nodeArgs: string[];
  only: string | undefined;
  waitIdleSeconds: number;
}

function settingsFromArgs(): Settings {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      out: { type: 'string' },
      'node-arg': { type: 'string', multiple: true },
      only: { type: 'string' },
      'wait-idle': { type: 'string', default: '0' },
    },
  });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 60) {
    throw new Error('--seconds must be a number from 1 to 60');
  }
  const waitIdleSeconds = Number(values['wait-idle']);
  if (!Number.isFinite(waitIdleSeconds) || waitIdleSeconds < 0 || waitIdleSeconds > 600) {
    throw new Error('--wait-idle must be a number of seconds from 0 to 600');
  }
  const nodeArgs = values['node-arg'] ?? [];
  const overridden = nodeArgs.filter((arg) => workerOptionNames.has(optionName(arg)));
  if (overridden.length > 0) {
    throw new Error(
      `--node-arg ${overridden.join(', ')}: the workers get their own value of this option ` +
        `(WORKER_NODE_ARGS in src/cluster/worker-pool.ts), after the primary's, so it would ` +
        `not apply to them; change it there instead`,
    );
  }
  return {
    seconds,
    out: resolve(ROOT, values.out ?? 'bench-results.json'),
    nodeArgs,
    only: values.only,
    waitIdleSeconds,
  };
}

/** `--max-old-space-size=256` -> `--max-old-space-size`; V8 reads `_` and `-` alike. */
function optionName(arg: string): string {
  return arg.split('=', 1)[0]!.replaceAll('_', '-');
}

/** Options a worker always gets after the primary's: a --node-arg cannot change them. */
const workerOptionNames = new Set(WORKER_NODE_ARGS.map(optionName));

/** Whether --only lets the scenario of this name run. */
function isWanted(settings: Settings, name: string): boolean {
  return settings.only === undefined || name.startsWith(settings.only);
}

/** Servers this run has started and not yet stopped: exits and signals stop them all. */
const liveServers = new Set<Cluster>();

async function startServer(options: ClusterOptions): Promise<Cluster> {
  const server = await Cluster.start(options);
  liveServers.add(server);
  return server;
}

async function stopServer(server: Cluster): Promise<void> {
  try {
    await server.stop();
  } finally {
    liveServers.delete(server);
  }
}

function describeMachine(): Machine {
  const model = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1];
  return {
    cpus: cpus().length,
    cpuModel: model ?? cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

function step(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function timed<T>(what: string, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  const value = await work();
  step(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return value;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const JSON_TYPE = 'application/json';
const PROOF_PATH = '/get_pro_subscription_proof';
const ONION_PATH = '/oxen/v4/lsrpc';
const OCTETS = 'application/octet-stream';

function innerProofRequest(json: string) {
  const headers = { 'content-type': JSON_TYPE };
  return { method: 'POST' as const, endpoint: PROOF_PATH, headers, body: json };
}

/** The bench's fast signing and envelopes must produce the client helpers' exact bytes. */
function checkAgainstClientHelpers(keys: KeyMaterial, seeded: SeededDatabase): Check[] {
  const pair = pairAt(keys, 0);
  const clientKeys = { masterSeed: pair.master.seed, rotatingSeed: pair.rotating.seed };
  const now = Math.floor(Date.now() / 1000);
  const token: PaymentToken = fixedBytes(randomBytes(32), 32);
  const server = onionServerKey(seeded.onionPublicKey);
  const ephemeralSecret = fixedBytes(randomBytes(32), 32);
  const nonce = randomBytes(24);
  const encType = 'xchacha20-poly1305';
  const proofJson = getProofJson(pair, now);
  const fast = buildEnvelope(server, innerJsonPost(PROOF_PATH, proofJson), {
    encType,
    ephemeralSecret,
    nonce,
  });
  const helper = buildOnionRequest(server.publicKey, innerProofRequest(proofJson), {
    encType,
    ephemeralSecret,
    nonce,
  });
  return [
    {
      name: 'pre-signed get_proof body equals the client helper getProofBody',
      ok: proofJson === JSON.stringify(getProofBody(clientKeys, now)),
      detail: 'byte-equal JSON',
    },
    {
      name: 'pre-signed add_payment body equals the client helper addPaymentBody',
      ok: addPaymentJson(pair, token) === JSON.stringify(addPaymentBody(clientKeys, token)),
      detail: 'byte-equal JSON',
    },
    {
      name: 'pre-built onion envelope equals the client helper buildOnionRequest',
      ok: fast.equals(helper.body),
      detail: 'byte-equal envelope for the same ephemeral key and nonce',
    },
  ];
}

async function post(url: string, body: string | Uint8Array, type: string) {
  const payload = typeof body === 'string' ? body : new Uint8Array(body);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': type },
    body: payload,
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

function proofIsGood(proof: ProofJson, rotating: ClientKey, backendPkey: string): boolean {
  return (
    proof.rotating_pkey === toHex(rotating.publicKey) && proofSignatureIsValid(proof, backendPkey)
  );
}

/**
 * What signing needs: the keys, the database's onion key and witnessed tokens, and the next
 * request number, so that no two requests of a run use the same (master, rotating) key pair.
 */
interface Signer {
  keys: KeyMaterial;
  seeded: SeededDatabase;
  nextPair: number;
  /** Tokens witnessed in the seed and not yet given to a request. */
  tokens: PaymentToken[];
}

/** What one run shares once its server is up. */
interface Run extends Signer {
  cluster: Cluster;
  settings: Settings;
}

function takePairs(signer: Signer, count: number): number {
  const from = signer.nextPair;
  signer.nextPair += count;
  return from;
}

interface SampleOutcome {
  checks: Check[];
  /** Reply lengths of successful onion proofs: every other 200 reply hides an inner failure. */
  onionSuccessLengths: Set<number>;
}

/**
 * Sample requests checked reply by reply: proofs verify under the backend key, and onion replies
 * decrypt (with the client helper) to an inner 200 carrying a valid proof.
 */
async function checkSampleReplies(run: Run): Promise<SampleOutcome> {
  const { cluster, keys, seeded } = run;
  const backendPkey = toHex(seeded.backendPkey);
  const now = Math.floor(Date.now() / 1000);
  const from = takePairs(run, 2 * SAMPLES);
  let directGood = 0;
  let onionGood = 0;
  const onionSuccessLengths = new Set<number>();
  for (let i = 0; i < SAMPLES; i++) {
    const pair = pairAt(keys, from + i);
    const body = getProofJson(pair, now);
    const direct = await post(`${cluster.baseUrl}${PROOF_PATH}`, body, JSON_TYPE);
    const proof = JSON.parse(direct.body.toString('utf8')).result;
    if (direct.status === 200 && proofIsGood(proof, pair.rotating, backendPkey)) directGood++;

    const onionPair = pairAt(keys, from + SAMPLES + i);
    const onion = buildOnionRequest(
      seeded.onionPublicKey,
      innerProofRequest(getProofJson(onionPair, now)),
      { encType: encTypeAt(i) },
    );
    const sealed = await post(`${cluster.baseUrl}${ONION_PATH}`, onion.body, OCTETS);
    if (sealed.status !== 200) continue;
    const opened = onion.open(sealed.body);
    const inner = JSON.parse(opened.body.toString('utf8'));
    if (opened.code === 200 && proofIsGood(inner.result, onionPair.rotating, backendPkey)) {
      onionGood++;
      onionSuccessLengths.add(sealed.body.length);
    }
  }
  return {
    onionSuccessLengths,
    checks: [
      {
        name: 'sample get_proof replies carry proofs signed by the backend key',
        ok: directGood === SAMPLES,
        detail: `${directGood}/${SAMPLES}`,
      },
      {
        name: 'sample onion replies decrypt to code 200 with a valid proof',
        ok: onionGood === SAMPLES,
        detail: `${onionGood}/${SAMPLES}`,
      },
    ],
  };
}

async function currentTicket(cluster: Cluster): Promise<number> {
  const url = `${cluster.baseUrl}/get_revocations`;
  const reply = await post(url, '{"version":0,"ticket":0}', JSON_TYPE);
  return JSON.parse(reply.body.toString('utf8')).result.ticket;
}

/** Enough distinct requests for `rate` requests a second through warm-up and measurement. */
function poolSizeFor(rate: number, settings: Settings, warmUpS: number): number {
  return Math.ceil(rate * POOL_HEADROOM * (settings.seconds + warmUpS) + 4 * CONNECTIONS);
}

/** Servers that have run a scenario already: the next one on them gets the short warm-up. */
const warmedServers = new WeakSet<Cluster>();

function warmUpFor(server: Cluster): number {
  return warmedServers.has(server) ? WARM_UP_S : FRESH_WARM_UP_S;
}

/** Pre-signs `count` requests of one kind on every core; the server is idle meanwhile. */
async function presign(
  signer: Signer,
  kind: PoolJob['kind'],
  count: number,
): Promise<(string | Buffer)[]> {
  const from = takePairs(signer, count);
  const unixTsS = Math.floor(Date.now() / 1000);
  const job: PoolJob =
    kind === 'get_proof'
      ? { kind, from, count, unixTsS }
      : kind === 'onion_get_proof'
        ? { kind, from, count, unixTsS, onionPkey: signer.seeded.onionPublicKey }
        : { kind, from, count, tokens: signer.tokens.splice(0, count) };
  const [bodies] = await timed(`pre-sign ${count} ${kind} requests`, () =>
    presignPools(signer.keys, [job]),
  );
  // Worker threads hand Buffers back as plain Uint8Arrays; autocannon wants Buffers.
  return bodies!.map((b) => (typeof b === 'string' ? b : Buffer.from(b as Uint8Array)));
}

async function runScenario(
  run: Run,
  scenario: Scenario,
  server: Cluster = run.cluster,
): Promise<ScenarioResult> {
  const load: LoadOptions = {
    url: server.baseUrl,
    connections: CONNECTIONS,
    seconds: run.settings.seconds,
  };
  if (run.settings.waitIdleSeconds > 0) {
    const other = await waitForIdle(server, run.settings.waitIdleSeconds);
    step(`other processes used ${Math.round(other)}% of the machine before this scenario`);
  }
  const warmUpS = warmUpFor(server);
  step(`${scenario.name}: ${warmUpS} s warm-up, ${load.seconds} s measured`);
  const warmUp = await runLoad(scenario, { ...load, seconds: warmUpS }, server);
  warmedServers.add(server);
  const result = await runLoad(scenario, load, server);
  // A failure in the warm-up is a failure too; only its timing is discarded.
  result.failed += warmUp.failed;
  step(`  ${Math.round(result.requestsPerS)} req/s, ${result.failed} failed`);
  return result;
}

/**
 * The yardstick (scripts/bench/yardstick-server.ts) under the proof scenario's load, with the
 * same bodies: it keeps no state, so bodies the product has seen are new to it. It runs while
 * the product's workers idle, and stops before the next scenario.
 */
async function runYardstick(run: Run, proofPool: (string | Buffer)[]): Promise<ScenarioResult> {
  const yardstick = await timed('yardstick server start', async () =>
    startServer({
      root: ROOT,
      entry: YARDSTICK_ENTRY,
      dbPath: '',
      workers: WORKERS,
      nodeArgs: ['--import', 'tsx', ...run.settings.nodeArgs],
      port: await freePort(),
      startTimeoutMs: START_TIMEOUT_MS,
    }),
  );
  try {
    const scenario = { name: SCENARIO.yardstick, path: PROOF_PATH, contentType: JSON_TYPE };
    return await runScenario(run, { ...scenario, pool: distinctPool(proofPool) }, yardstick);
  } finally {
    await stopServer(yardstick);
  }
}

/**
 * Every scenario, in an order that keeps each one's premise: /add_payment runs last because each
 * redemption revokes a gen index and moves the ticket. The direct proof pool is signed before the
 * server starts, sized for both workers at the crypto floor, which no signed request can beat.
 * The onion and /add_payment pools are signed between scenarios, while the server idles, sized
 * from the measured proof rate with room to spare: both do the proof's crypto and more. Should a
 * pool run dry all the same (the machine was busier during the proof run), the table says so.
 */
async function measure(
  run: Run,
  proofPool: (string | Buffer)[],
  onionSuccessLengths: Set<number>,
  floorRate: number,
): Promise<ScenarioResult[]> {
  const wanted = (name: string) => isWanted(run.settings, name);
  const results: ScenarioResult[] = [];
  let proofRate = floorRate;

  if (wanted(SCENARIO.proof)) {
    const scenario = { name: SCENARIO.proof, path: PROOF_PATH, contentType: JSON_TYPE };
    const result = await runScenario(run, { ...scenario, pool: distinctPool(proofPool) });
    results.push(result);
    proofRate = Math.min(floorRate, LATER_POOL_HEADROOM * result.requestsPerS);
  }
  if (wanted(SCENARIO.yardstick)) {
    // The direct proof pool, which main() signs whenever either of the two is wanted.
    results.push(await runYardstick(run, proofPool));
  }
  if (wanted(SCENARIO.onionProof)) {
    const size = poolSizeFor(proofRate, run.settings, warmUpFor(run.cluster));
    const pool = await presign(run, 'onion_get_proof', size);
    results.push(
      await runScenario(run, {
        name: SCENARIO.onionProof,
        path: ONION_PATH,
        contentType: OCTETS,
        pool: distinctPool(pool),
        isFailure: (headers) => !onionSuccessLengths.has(Number(headers['content-length'])),
      }),
    );
  }
  const revocations = { path: '/get_revocations', contentType: JSON_TYPE };
  if (wanted(SCENARIO.revocationsFull)) {
    const pool = constantPool('{"version":0,"ticket":0}');
    const name = SCENARIO.revocationsFull;
    results.push(await runScenario(run, { ...revocations, name, pool }));
  }
  if (wanted(SCENARIO.revocationsCurrent)) {
    const pool = constantPool(`{"version":0,"ticket":${await currentTicket(run.cluster)}}`);
    const name = SCENARIO.revocationsCurrent;
    results.push(await runScenario(run, { ...revocations, name, pool }));
  }
  if (wanted(SCENARIO.addPayment)) {
    const count = Math.min(
      poolSizeFor(proofRate, run.settings, warmUpFor(run.cluster)),
      run.tokens.length,
    );
    const pool = await presign(run, 'add_payment', count);
    results.push(
      await runScenario(run, {
        name: SCENARIO.addPayment,
        path: '/add_payment',
        contentType: JSON_TYPE,
        pool: distinctPool(pool),
      }),
    );
  }
  return results;
}

async function main(): Promise<number> {
  let settings: Settings;
  try {
    settings = settingsFromArgs();
  } catch (error) {
    // A mistyped option: the message says what to change, a stack trace would only hide it.
    console.error(`bench: ${messageOf(error)}`);
    return 2;
  }
  const machine = describeMachine();
  const workDir = mkdtempSync(join(tmpdir(), 'sesh-pro-bench-'));
  let cluster: Cluster | undefined;
  const killOnExit = () => {
    for (const server of liveServers) server.killNow();
    rmSync(workDir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      step(`${signal}: stopping the servers`);
      void Promise.allSettled([...liveServers].map(stopServer)).finally(() => process.exit(130));
    });
  }
  setTimeout(() => {
    step(`the run took longer than ${RUN_LIMIT_MS / 1000} s; giving up`);
    killOnExit();
    process.exit(1);
  }, RUN_LIMIT_MS).unref();

  try {
    const keys: KeyMaterial = await timed('client keys', () => ({
      masters: randomClientKeys(SUBSCRIBERS),
      rotating: randomClientKeys(ROTATING_KEYS),
    }));
    if (settings.waitIdleSeconds > 0) await waitForIdle(undefined, settings.waitIdleSeconds);
    const floor: CryptoFloor = await timed('crypto floor', () => measureCryptoFloor(keys));
    step(`  ${Math.round(floor.perCore)} req/s per core`);
    const allCores = await timed(`crypto floor, ${WORKERS} processes at once`, () =>
      measureCryptoFloorOnAllCores(WORKERS),
    );
    step(`  ${Math.round(allCores.total)} req/s together`);

    // No signed scenario can beat both workers at the crypto floor. /add_payment gets tokens
    // for half as much again, in case the floor was measured while the machine was busy.
    // The proof pool serves the first scenario on each of two fresh servers (product, yardstick).
    const floorPoolSize = poolSizeFor(floor.perCore * WORKERS, settings, FRESH_WARM_UP_S);
    const dbPath = join(workDir, 'bench.db');
    const seeded = await timed('seed', () =>
      seedDatabase(dbPath, {
        subscribers: keys.masters,
        renewals: RENEWALS,
        witnessedTokens: Math.ceil(1.5 * floorPoolSize),
      }),
    );
    const checks = checkAgainstClientHelpers(keys, seeded);

    const signer: Signer = { keys, seeded, nextPair: 0, tokens: [...seeded.witnessedTokens] };
    const proofWanted = [SCENARIO.proof, SCENARIO.yardstick].some((n) => isWanted(settings, n));
    const proofPool = proofWanted ? await presign(signer, 'get_proof', floorPoolSize) : [];

    const port = await freePort();
    cluster = await timed('cluster start', () =>
      startServer({
        root: ROOT,
        entry: ENTRY,
        dbPath,
        workers: WORKERS,
        nodeArgs: settings.nodeArgs,
        port,
        startTimeoutMs: START_TIMEOUT_MS,
      }),
    );
    // The same object, so that request numbers keep counting where the proof pool stopped.
    const run: Run = Object.assign(signer, { cluster, settings });
    const samples = await checkSampleReplies(run);
    checks.push(...samples.checks);
    const floorRate = floor.perCore * WORKERS;
    const scenarios = await measure(run, proofPool, samples.onionSuccessLengths, floorRate);
    const workers = cluster.usage();
    await stopServer(cluster);
    cluster = undefined;

    const failedRequests = scenarios.reduce((sum, s) => sum + s.failed, 0);
    const record: BenchRecord = {
      date: new Date().toISOString(),
      machine,
      settings: {
        workers: WORKERS,
        connections: CONNECTIONS,
        seconds: settings.seconds,
        warmUpSeconds: WARM_UP_S,
        freshServerWarmUpSeconds: FRESH_WARM_UP_S,
      },
      seed: {
        subscribers: seeded.stats.subscribers,
        revocations: seeded.stats.revocations,
        ticket: seeded.stats.ticket,
        seconds: seeded.seconds,
      },
      cryptoFloor: floor,
      cryptoFloorAllCores: allCores,
      scenarios,
      workers,
      checks,
      targets: targets(scenarios, floor, workers),
      failedRequests,
      ok: failedRequests === 0 && checks.every((c) => c.ok),
    };
    console.log(renderTables(record));
    writeFileSync(settings.out, `${JSON.stringify(record, null, 2)}\n`);
    console.log(`figures written to ${settings.out}`);
    return record.ok ? 0 : 1;
  } catch (error) {
    console.error(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
    return 1;
  } finally {
    if (cluster) await stopServer(cluster);
    rmSync(workDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
