/**
 * Malformed input, thousands of times: every answer is a 4xx with the error envelope (or, for an
 * onion request the server can open, an encrypted reply carrying one), never a 5xx, and the
 * server still answers a valid request afterwards. In process for the bulk; over real sockets
 * against the running cluster for a smaller batch and for bytes no HTTP client would send.
 *
 * The seed is in each test's name; FUZZ_SEED=<hex> replays or varies a run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import Database from 'better-sqlite3';
import t from 'tap';
import { addPaymentBody, buildOnionRequest } from '../../src/client/index.ts';
import { decodeInnerReply } from '../../src/onion/inner.ts';
import { onionKeyPairFromSeed, type X25519PublicKey } from '../../src/onion/keys.ts';
import { Ledger } from '../../src/ledger/index.ts';
import { fixedBytes, fromHex } from '../../src/protocol/index.ts';
import { buildServerApp } from '../../src/server.ts';
import { freePort, request, startBackend } from '../support/harness.ts';
import { freshKeys } from '../support/app.ts';
import { envelopeProblem, isClientErrorStatus } from '../support/envelope.ts';
import { openLedgerFile, witnessTokens } from '../support/ledger-file.ts';
import { SeededRandom } from '../support/random.ts';
import { rawExchange } from '../support/raw-http.ts';
import {
  directMutation,
  envelopeMutation,
  knownCases,
  payloadMutation,
  routeShapes,
  wrapInOnion,
  type FuzzCase,
} from '../support/mutations.ts';
import { rawHttpCases } from '../support/raw-cases.ts';

const SEED = Number.parseInt(process.env.FUZZ_SEED ?? '5e551a7e', 16) >>> 0;
const SEED_HEX = `0x${SEED.toString(16)}`;

interface Answer {
  status: number;
  body: Buffer;
}

/** Why `answer` is not an acceptable answer to `fuzzCase`, or undefined when it is. */
function answerProblem(fuzzCase: FuzzCase, answer: Answer): string | undefined {
  const headless = fuzzCase.answeredMethod === 'HEAD';
  if (fuzzCase.expect === 'encrypted') {
    if (answer.status !== 200) {
      return `a sealed request got HTTP ${answer.status}: ${answer.body.toString().slice(0, 200)}`;
    }
    let code: number;
    let body: Uint8Array;
    try {
      ({ code, body } = decodeInnerReply(fuzzCase.open!(answer.body)));
    } catch (error) {
      return `the encrypted reply does not open: ${String(error)}`;
    }
    if (!isClientErrorStatus(code))
      return `inner code ${code}: ${Buffer.from(body).toString().slice(0, 200)}`;
    if (headless && body.length === 0) return undefined;
    return envelopeProblem(code, body);
  }
  if (!isClientErrorStatus(answer.status)) {
    return `HTTP ${answer.status}: ${answer.body.toString().slice(0, 200)}`;
  }
  if (headless && answer.body.length === 0) return undefined;
  return envelopeProblem(answer.status, answer.body);
}

/** Tallies and the first failures of a run, for one assertion and a readable comment. */
class Tally {
  readonly failures: string[] = [];
  failed = 0;
  sent = 0;
  readonly byStatus = new Map<number, number>();

  record(fuzzCase: FuzzCase, answer: Answer, problem: string | undefined): void {
    this.sent++;
    this.byStatus.set(answer.status, (this.byStatus.get(answer.status) ?? 0) + 1);
    if (problem === undefined) return;
    this.failed++;
    if (this.failures.length < 20) this.failures.push(`${fuzzCase.label}: ${problem}`);
  }

  summary(): string {
    const statuses = [...this.byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
    return `${this.sent} sent, ${this.failed} failed; HTTP statuses ${statuses.join(' ')}`;
  }
}

/**
 * The cases that once failed, then the seeded mix: direct requests, the same kinds through the
 * onion, broken envelopes and broken payloads.
 */
function* fuzzCases(
  random: SeededRandom,
  serverKey: X25519PublicKey,
  nowUnixTsS: () => number,
  counts: { direct: number; wrapped: number; envelopes: number; payloads: number },
): Generator<FuzzCase> {
  yield* knownCases(serverKey);
  const shapes = routeShapes(nowUnixTsS);
  for (let i = 0; i < counts.direct; i++) yield directMutation(random, shapes);
  for (let i = 0; i < counts.wrapped; i++)
    yield wrapInOnion(random, serverKey, directMutation(random, shapes));
  for (let i = 0; i < counts.envelopes; i++) yield envelopeMutation(random, serverKey);
  for (let i = 0; i < counts.payloads; i++) yield payloadMutation(random, serverKey);
}

t.test(`6,008 malformed requests in process, seed ${SEED_HEX}: each a 4xx envelope`, async (t) => {
  const ledger = new Ledger(new Database(':memory:'));
  const app = await buildServerApp(ledger, { logLevel: 'silent' });
  t.teardown(() => app.close());
  const serverKey = onionKeyPairFromSeed(ledger.backendKey.exportSeed()).publicKey;

  const tally = new Tally();
  const counts = { direct: 2600, wrapped: 1800, envelopes: 1100, payloads: 500 };
  let notInjectable = 0;
  for (const fuzzCase of fuzzCases(new SeededRandom(SEED), serverKey, ledger.clock, counts)) {
    // inject reads the path as a WHATWG URL, where "\" is "/" and "/\host/x" names a host:
    // such paths reach the server as written only over a socket (the cluster test sends them).
    if (fuzzCase.url.includes('\\')) {
      notInjectable++;
      continue;
    }
    const reply = await app.inject({
      method: fuzzCase.method as 'POST',
      url: fuzzCase.url,
      headers: fuzzCase.headers,
      ...(fuzzCase.payload === undefined ? {} : { payload: fuzzCase.payload }),
    });
    const answer = { status: reply.statusCode, body: reply.rawPayload };
    tally.record(fuzzCase, answer, answerProblem(fuzzCase, answer));
  }
  t.comment(`${tally.summary()}; ${notInjectable} paths inject cannot express`);
  t.ok(tally.sent >= 5_900, 'at least 5,900 of the 6,008 cases were sent');
  t.same(tally.failures, [], 'every answer is a 4xx with the error envelope');

  // The server is unharmed: a valid redemption, directly and through the onion, succeeds.
  const token = crypto.getRandomValues(new Uint8Array(32));
  ledger.witness(fixedBytes(token, 32), 30);
  const redeemed = await app.inject({
    method: 'POST',
    url: '/add_payment',
    payload: addPaymentBody(freshKeys(), token),
  });
  t.equal(redeemed.statusCode, 200, 'a valid redemption afterwards');
  t.equal(redeemed.json().result.version, 0);
  const onion = buildOnionRequest(serverKey, {
    method: 'POST',
    endpoint: '/get_revocations',
    headers: { 'content-type': 'application/json' },
    body: '{"version":0,"ticket":0}',
  });
  const viaOnion = await app.inject({ method: 'POST', url: '/oxen/v4/lsrpc', payload: onion.body });
  t.equal(viaOnion.statusCode, 200);
  t.equal(onion.open(viaOnion.rawPayload).code, 200, 'a valid onion request afterwards');
});

/** One request over a keep-alive connection; undefined when Node's client refuses to send it. */
function sendOverHttp(
  agent: Agent,
  port: number,
  fuzzCase: FuzzCase,
): Promise<Answer | 'closed'> | undefined {
  let req;
  let settle!: (answer: Answer | 'closed') => void;
  const answered = new Promise<Answer | 'closed'>((resolve) => (settle = resolve));
  try {
    req = httpRequest(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: fuzzCase.method,
        path: fuzzCase.url,
        headers: fuzzCase.headers,
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => settle({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', () => settle('closed'));
      },
    );
  } catch {
    // An unescaped character in the path or a header value: only an in-process case.
    return undefined;
  }
  req.on('timeout', () => req.destroy(new Error('timed out')));
  req.on('error', () => settle('closed'));
  req.end(fuzzCase.payload);
  return answered;
}

t.test(`malformed requests over sockets to a 2-worker cluster, seed ${SEED_HEX}`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sesh-fuzz-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'backend.db');
  const ledger = openLedgerFile(db);
  t.teardown(() => ledger.close());
  const backend = startBackend(t, { db, port: await freePort(), workers: 2 });
  await backend.workersListening(2);

  // A new client knows the backend's Ed25519 key and derives the onion key from it.
  const health = JSON.parse((await request(backend.port, '/health')).body);
  const serverKey = fixedBytes(
    ed25519.utils.toMontgomery(fromHex(health.result.backend_pkey, 32)),
    32,
  );

  await t.test('350 seeded cases over HTTP: each a 4xx envelope', async (t) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 6 });
    t.teardown(() => agent.destroy());
    const counts = { direct: 150, wrapped: 100, envelopes: 60, payloads: 40 };
    const random = new SeededRandom(SEED ^ 0x0be7_5eed);
    const tally = new Tally();
    let unsendable = 0;
    let closedForOversize = 0;
    const pending: Promise<void>[] = [];
    for (const fuzzCase of fuzzCases(
      random,
      serverKey,
      () => Math.floor(Date.now() / 1000),
      counts,
    )) {
      const sent = sendOverHttp(agent, backend.port, fuzzCase);
      if (sent === undefined) {
        unsendable++;
        continue;
      }
      pending.push(
        sent.then((answer) => {
          // The server may answer 413 and close while a large body is still being written.
          if (answer === 'closed' && (fuzzCase.payload?.length ?? 0) > 64 * 1024) {
            closedForOversize++;
            return;
          }
          const got =
            answer === 'closed' ? { status: 0, body: Buffer.from('connection closed') } : answer;
          tally.record(fuzzCase, got, answerProblem(fuzzCase, got));
        }),
      );
    }
    await Promise.all(pending);
    t.comment(
      `${tally.summary()}; ${unsendable} not sendable by node:http, ${closedForOversize} oversize closed`,
    );
    t.ok(tally.sent >= 300, 'most cases went over the wire');
    t.same(tally.failures, [], 'every answer is a 4xx with the error envelope');
  });

  await t.test(
    'raw bytes no client would send: a 4xx envelope or a closed connection',
    async (t) => {
      const cases = rawHttpCases(new SeededRandom(SEED ^ 0x0005_0cce));
      const exchanges = await Promise.all(cases.map((c) => rawExchange(backend.port, c.bytes)));
      const problems: string[] = [];
      let answered = 0;
      cases.forEach((rawCase, i) => {
        const exchange = exchanges[i]!;
        if (exchange.timedOut)
          problems.push(`${rawCase.label}: neither answered nor closed in 5 s`);
        const finals = exchange.responses.filter((r) => r.status >= 200);
        if (finals.length > 0) answered++;
        for (const response of finals) {
          if (!isClientErrorStatus(response.status)) {
            problems.push(
              `${rawCase.label}: HTTP ${response.status} ${response.body.toString().slice(0, 200)}`,
            );
          } else if (response.body.length > 0) {
            const problem = envelopeProblem(response.status, response.body);
            if (problem) problems.push(`${rawCase.label}: ${problem}`);
          }
        }
        if (finals.length === 0 && !exchange.closed) problems.push(`${rawCase.label}: no answer`);
        if (
          exchange.leftover.length > 0 &&
          /^HTTP\/1\.[01] 5/.test(exchange.leftover.toString('latin1'))
        ) {
          problems.push(
            `${rawCase.label}: unframed 5xx ${exchange.leftover.toString('latin1').slice(0, 200)}`,
          );
        }
      });
      t.comment(`${cases.length} raw exchanges, ${answered} answered with a 4xx, the rest closed`);
      t.ok(answered >= cases.length / 2, 'most malformed requests get an answer, not just a close');
      t.same(problems, []);
    },
  );

  await t.test(
    'the cluster still serves a valid request, and logged no internal error',
    async (t) => {
      t.equal((await request(backend.port, '/health')).status, 200);
      const [token] = witnessTokens(ledger, 1, 30);
      const redeemed = await request(
        backend.port,
        '/add_payment',
        addPaymentBody(freshKeys(), token!),
      );
      t.equal(redeemed.status, 200, redeemed.body);
      t.same(backend.event('internal_error'), []);
      t.same(
        backend.logs.filter((line) => line.level >= 50),
        [],
        'no error or fatal log line',
      );
      t.same(backend.event('worker_died'), [], 'no worker died');
    },
  );
});
