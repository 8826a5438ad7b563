/**
 * The primary's workers: forks them, replaces those that die (with the restart policy's backoff)
 * and stops them all within a grace period. Workers run the same entry point as the primary and
 * inherit its environment, so they read the same configuration.
 */
import cluster, { type Worker } from 'node:cluster';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { RestartPolicy } from './restart-policy.ts';
import type { StopSignal } from './shutdown.ts';
import { isStartFailedMessage, isStoppingMessage, STOP_MESSAGE } from './worker.ts';

/**
 * The entry point a worker runs; not `process.argv[1]`, which a wrapper may have taken. It is
 * main.ts under tsx (tests) and main.js once compiled to dist/ (npm start): this file's kind.
 */
const ENTRY_POINT = fileURLToPath(new URL(`../main${extname(import.meta.url)}`, import.meta.url));

/**
 * Node options a worker gets on top of the primary's (given after them, so they win), for speed
 * and to keep its memory well below 150 MB under load:
 * - An 8 MB young generation (semi-space). A proof request leaves about 250 KB of garbage, most of
 *   it the signature's BigInt arithmetic, and each scavenge copies the in-flight requests'
 *   objects. With 2 MB the workers scavenged every 8 requests or so, 42 µs of pause per request;
 *   with 8 MB it is 17 µs, and the proof route ran faster in 6 of 6 alternating benchmark pairs
 *   (mean 4,010 against 3,831 req/s) for 6 to 9 MB more RSS. 16 MB saves only 3 µs more and
 *   costs 15 MB.
 * - A 256 MB old generation. A worker's live heap is under 20 MB; the cap matters for how V8 grows
 *   the heap between full collections. With the default limit (4 GB on a 24 GB machine) it lets
 *   the old generation reach about three times the live heap before collecting: 55 MB, and
 *   132-140 MB of RSS in the onion benchmark. With 256 MB it collects at about 1.3 times, and the
 *   RSS stays near 90 MB at the same throughput. A heap that did outgrow 256 MB would be a leak:
 *   the worker would die and the primary would start another.
 */
export const WORKER_NODE_ARGS = ['--max-semi-space-size=8', '--max-old-space-size=256'];

/**
 * How long past the grace period the primary waits for a worker before killing it: time for the
 * worker to cut its own connections, close its database and exit by itself.
 */
export const WORKER_EXIT_MARGIN_MS = 2_000;

/** A forked worker's Node options: the primary's own, then WORKER_NODE_ARGS. */
export function workerExecArgv(): string[] {
  return [...process.execArgv, ...WORKER_NODE_ARGS];
}

interface Running {
  slot: number;
  worker: Worker;
  pid: number | undefined;
  listeningSinceMs: number | undefined;
  /** The signal the worker said it is stopping on, when one was sent to it rather than to us. */
  stoppingOn?: StopSignal;
}

export class WorkerPool {
  readonly #running = new Map<number, Running>();
  readonly #pendingRestarts = new Map<number, NodeJS.Timeout>();
  readonly #policy = new RestartPolicy();
  #stopping = false;
  #lastStartError: string | undefined;
  #giveUp!: (reason: string) => void;
  #allExited: (() => void) | undefined;
  #stoppedCleanly = true;

  /** Resolves with a message when workers keep dying before they listen. */
  readonly gaveUp = new Promise<string>((resolve) => {
    this.#giveUp = resolve;
  });

  constructor(
    private readonly size: number,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    cluster.setupPrimary({
      exec: ENTRY_POINT,
      execArgv: workerExecArgv(),
    });
    for (let slot = 0; slot < this.size; slot++) this.#fork(slot);
  }

  #fork(slot: number): void {
    const worker = cluster.fork();
    const running: Running = { slot, worker, pid: worker.process.pid, listeningSinceMs: undefined };
    this.#running.set(worker.id, running);

    worker.on('listening', (address) => {
      running.listeningSinceMs = this.now();
      this.#policy.listening();
      this.log.info(
        { event: 'worker_listening', worker_pid: running.pid, slot, port: address.port },
        `worker ${running.pid} listening`,
      );
    });
    worker.on('message', (message: unknown) => {
      if (isStartFailedMessage(message)) this.#lastStartError = message.error;
      if (isStoppingMessage(message)) running.stoppingOn = message.signal;
    });
    worker.on('exit', (code, signal) => this.#exited(running, code, signal));
  }

  #exited(running: Running, code: number | null, signal: string | null): void {
    this.#running.delete(running.worker.id);
    const fields = { worker_pid: running.pid, slot: running.slot, code, signal };
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;

    if (this.#stopping) {
      // A worker still starting may be killed before it can handle the signal: nothing was lost.
      const clean = code === 0 || running.listeningSinceMs === undefined;
      if (!clean) this.#stoppedCleanly = false;
      this.log.info({ event: 'worker_stopped', ...fields }, `worker ${running.pid} ${how}`);
      if (this.#running.size === 0) this.#allExited?.();
      return;
    }

    const decision = this.#policy.died({
      slot: running.slot,
      listeningSinceMs: running.listeningSinceMs,
      atMs: this.now(),
    });
    if (decision.kind === 'give_up') {
      const cause = this.#lastStartError ?? `the last one ${how}`;
      const reason =
        `${decision.failures} workers in a row died before they could listen (${cause}); ` +
        'stopping the cluster instead of restarting them';
      this.log.fatal({ event: 'workers_failing', ...fields, failures: decision.failures }, reason);
      this.#giveUp(reason);
      return;
    }

    const replacement = `starting a replacement in ${decision.delayMs} ms`;
    if (running.stoppingOn !== undefined && code === 0) {
      // Stopped cleanly on a signal sent to it alone. Under pm2 the primary's own signal follows
      // within milliseconds and cancels the replacement; otherwise the slot is filled again.
      const on = running.stoppingOn;
      this.log.info(
        { event: 'worker_stopped', ...fields, on, restart_in_ms: decision.delayMs },
        `worker ${running.pid} stopped on ${on} sent to it; ${replacement}`,
      );
    } else {
      this.log.warn(
        { event: 'worker_died', ...fields, restart_in_ms: decision.delayMs },
        `worker ${running.pid} ${how}; ${replacement}`,
      );
    }
    const timer = setTimeout(() => {
      this.#pendingRestarts.delete(running.slot);
      this.#fork(running.slot);
    }, decision.delayMs);
    this.#pendingRestarts.set(running.slot, timer);
  }

  /**
   * A serving worker gets STOP_MESSAGE: a signal could kill one that is already exiting by itself
   * (pm2 signals the workers, then the primary). One that has left the cluster is exiting and
   * needs nothing. One still starting may not read messages yet; SIGTERM stops it at once, and it
   * had served nothing.
   */
  #askToStop({ worker, listeningSinceMs }: Running): void {
    if (listeningSinceMs === undefined) {
      worker.process.kill('SIGTERM');
    } else if (worker.isConnected()) {
      // The channel may close before the message goes: the worker is then exiting already.
      worker.send(STOP_MESSAGE, () => {});
    }
  }

  /**
   * Asks every worker to stop and waits for them. A worker cuts its own connections at
   * `graceMs`, then closes its database and exits; one still running WORKER_EXIT_MARGIN_MS after
   * that is killed. Resolves true when every worker that was serving stopped by itself with exit
   * code 0.
   */
  async stop(graceMs: number): Promise<boolean> {
    this.#stopping = true;
    for (const timer of this.#pendingRestarts.values()) clearTimeout(timer);
    this.#pendingRestarts.clear();
    if (this.#running.size === 0) return this.#stoppedCleanly;

    const allExited = new Promise<void>((resolve) => {
      this.#allExited = resolve;
    });
    for (const running of this.#running.values()) this.#askToStop(running);

    const limitMs = graceMs + WORKER_EXIT_MARGIN_MS;
    const deadline = setTimeout(() => {
      const pids = [...this.#running.values()].map((r) => r.pid);
      this.log.error(
        { event: 'shutdown_timeout', grace_ms: graceMs, waited_ms: limitMs, worker_pids: pids },
        `workers still running after ${limitMs} ms: killing them`,
      );
      this.#stoppedCleanly = false;
      for (const { worker } of this.#running.values()) worker.process.kill('SIGKILL');
    }, limitMs);
    // Never the reason the primary stays up: the workers' own exits are awaited.
    deadline.unref();

    await allExited;
    clearTimeout(deadline);
    return this.#stoppedCleanly;
  }
}
