/**
 * The server under test: `npm start`'s entry point (dist/main.js) as its own process tree, found
 * again through /proc to read each worker's peak memory and CPU time. Whatever happens, stop()
 * ends every process it started: SIGTERM first, SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface ClusterOptions {
  /** Repository root: where src/main.ts and node_modules live. */
  root: string;
  entry: string;
  dbPath: string;
  workers: number;
  /** Extra arguments for the server's node (its workers inherit them), e.g. --cpu-prof. */
  nodeArgs: string[];
  port: number;
  startTimeoutMs: number;
}

export interface WorkerUsage {
  pid: number;
  /** VmHWM: the most resident memory the process ever had. */
  peakRssMb: number;
  rssMb: number;
  /** User + system CPU seconds since the worker started. */
  cpuSeconds: number;
  /** The system (kernel) part of cpuSeconds: sockets, epoll, fsync. */
  systemSeconds: number;
}

const TAIL_LINES = 40;
const TERM_GRACE_MS = 8_000;
const CLOCK_TICKS = 100;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Every live process's parent, from /proc/<pid>/stat (the field after the command name). */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readOr(`/proc/${entry}/stat`, '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[1] !== undefined) parents.set(Number(entry), Number(fields[1]));
  }
  return parents;
}

export function descendants(pid: number): number[] {
  const parents = parentsByPid();
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, of] of parents) {
      if (of === parent) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** Node's cluster gives each worker NODE_UNIQUE_ID in its environment. */
function isClusterWorker(pid: number): boolean {
  const environment = readOr(`/proc/${pid}/environ`, '').split('\0');
  return environment.some((v) => v.startsWith('NODE_UNIQUE_ID='));
}

function statusKb(status: string, field: string): number {
  const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) : NaN;
}

export function workerUsage(pid: number): WorkerUsage {
  const status = readOr(`/proc/${pid}/status`, '');
  const stat = readOr(`/proc/${pid}/stat`, '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat; `fields` starts at field 3.
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  return {
    pid,
    peakRssMb: statusKb(status, 'VmHWM') / 1024,
    rssMb: statusKb(status, 'VmRSS') / 1024,
    cpuSeconds: (userTicks + systemTicks) / CLOCK_TICKS,
    systemSeconds: systemTicks / CLOCK_TICKS,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Cluster {
  readonly #child: ChildProcess;
  readonly #tail: string[] = [];
  readonly baseUrl: string;
  #exited = false;
  #workerPids: number[] = [];

  private constructor(options: ClusterOptions) {
    this.baseUrl = `http://127.0.0.1:${options.port}`;
    this.#child = spawn(process.execPath, [...options.nodeArgs, options.entry], {
      cwd: options.root,
      env: {
        ...process.env,
        SESH_PRO_BACKEND_DB_PATH: options.dbPath,
        SESH_PRO_BACKEND_DB_PATH_IS_URI: '0',
        SESH_PRO_BACKEND_HOST: '127.0.0.1',
        SESH_PRO_BACKEND_PORT: String(options.port),
        SESH_PRO_BACKEND_WORKERS: String(options.workers),
        SESH_PRO_BACKEND_LOG_LEVEL: 'warn',
        SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS: '2000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child.once('exit', () => (this.#exited = true));
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => this.#remember(chunk));
    }
  }

  #remember(chunk: string): void {
    // For profiling runs (for example with --node-arg=--trace-gc): keep everything in a file.
    const copy = process.env.BENCH_SERVER_OUTPUT;
    if (copy) appendFileSync(copy, chunk);
    this.#tail.push(...chunk.split('\n').filter((line) => line.length > 0));
    this.#tail.splice(0, Math.max(0, this.#tail.length - TAIL_LINES));
  }

  /** The last lines the server printed, for an error message. */
  get output(): string {
    return this.#tail.join('\n');
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get workerPids(): number[] {
    return this.#workerPids;
  }

  /** Starts the cluster and waits until every worker exists and /health answers. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options);
    try {
      await cluster.#waitReady(options);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  async #waitReady(options: ClusterOptions): Promise<void> {
    const deadline = Date.now() + options.startTimeoutMs;
    while (Date.now() < deadline) {
      if (this.#exited) throw new Error(`server exited during start-up:\n${this.output}`);
      this.#workerPids = descendants(this.pid).filter(isClusterWorker);
      if (this.#workerPids.length === options.workers && (await this.#healthy())) return;
      await sleep(100);
    }
    throw new Error(`server not ready after ${options.startTimeoutMs} ms:\n${this.output}`);
  }

  async #healthy(): Promise<boolean> {
    try {
      const response = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  usage(): WorkerUsage[] {
    return this.#workerPids.map(workerUsage);
  }

  /** SIGTERM to the primary (which stops its workers), SIGKILL to anything left after a grace. */
  async stop(): Promise<void> {
    const everyone = [this.pid, ...descendants(this.pid), ...this.#workerPids];
    if (!this.#exited) this.#child.kill('SIGTERM');
    const deadline = Date.now() + TERM_GRACE_MS;
    while (Date.now() < deadline && everyone.some(isAlive)) await sleep(50);
    this.killNow(everyone);
  }

  /** Last resort, synchronous: for an exit handler. */
  killNow(pids: number[] = [this.pid, ...this.#workerPids]): void {
    for (const pid of pids) {
      if (!isAlive(pid)) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone between the check and the kill.
      }
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped) counts as gone.
  return !/^State:\s+Z/m.test(readOr(`/proc/${pid}/status`, ''));
}
