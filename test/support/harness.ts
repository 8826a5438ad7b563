/**
 * Runs the real entry point (src/main.ts) as a child process, in its own process group, on a
 * temporary database and a free port, and reads its log lines as they come. Every run is killed
 * (the whole group) when its test ends, whatever happened.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Long enough for tsx to load a primary and two workers on a busy two-core machine. */
export const START_TIMEOUT_MS = 60_000;
/** How long `exited` waits, after the process exits, for its output pipes to drain. */
const STDIO_DRAIN_MS = 2_000;

export interface LogLine {
  level: number;
  time: number;
  pid: number;
  role?: string;
  event?: string;
  msg?: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  atMs: number;
}

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

/** A port nothing listens on right now: bound by the kernel's choice, then released. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** libfaketime's preload library, or undefined when faketime is not installed. */
export function findFaketime(): string | undefined {
  const multiarch = readdirSync('/usr/lib').map(
    (dir) => `/usr/lib/${dir}/faketime/libfaketime.so.1`,
  );
  const candidates = [
    ...multiarch,
    '/usr/lib/faketime/libfaketime.so.1',
    '/usr/local/lib/faketime/libfaketime.so.1',
  ];
  return candidates.find((path) => existsSync(path));
}

/**
 * Environment that makes every process of the run (the workers inherit it) read a wall clock
 * that stood at `unixTsS` when the run started and goes on at the real pace. Timers keep the
 * real monotonic clock, which is what Node's timers use.
 */
export function faketimeEnv(library: string, unixTsS: number): Record<string, string> {
  const offset = unixTsS - Math.floor(Date.now() / 1000);
  return {
    LD_PRELOAD: library,
    FAKETIME: offset >= 0 ? `+${offset}` : `${offset}`,
    DONT_FAKE_MONOTONIC: '1',
  };
}

export interface StartOptions {
  db: string;
  port: number;
  workers?: number;
  graceMs?: number;
  env?: Record<string, string>;
  /** The command to run instead of `node --import tsx src/main.ts`. */
  command?: [string, ...string[]];
}

export class Backend {
  readonly child: ChildProcess;
  readonly port: number;
  readonly logs: LogLine[] = [];
  /** Every stdout line that is not a JSON log line (the start-up figures, npm's banner). */
  readonly text: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  #waiters: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  constructor(options: StartOptions) {
    this.port = options.port;
    const [command, ...args] = options.command ?? [
      process.execPath,
      '--import',
      'tsx',
      'src/main.ts',
    ];
    this.child = spawn(command, args, {
      cwd: REPO,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        SESH_PRO_BACKEND_DB_PATH: options.db,
        SESH_PRO_BACKEND_PORT: String(options.port),
        SESH_PRO_BACKEND_HOST: '127.0.0.1',
        SESH_PRO_BACKEND_WORKERS: String(options.workers ?? 2),
        SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS: String(options.graceMs ?? 5_000),
        SESH_PRO_BACKEND_LOG_LEVEL: 'info',
        ...options.env,
      },
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        const exit = { code, signal, atMs: Date.now() };
        // 'exit' can come before the last lines on stdout have been read. 'close' comes once the
        // pipes are drained; a worker that outlives the primary holds them open, so wait only
        // so long for it.
        const timer = setTimeout(() => resolve(exit), STDIO_DRAIN_MS);
        this.child.once('close', () => {
          clearTimeout(timer);
          resolve(exit);
        });
      });
    });
    this.#readLines(this.child.stdout!, (line) => this.#onStdout(line));
    this.#readLines(this.child.stderr!, (line) => this.stderr.push(line));
  }

  #readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  }

  #onStdout(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.text.push(line);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null) return void this.text.push(line);
    const log = parsed as LogLine;
    this.logs.push(log);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.test(log)) return true;
      waiter.resolve(log);
      return false;
    });
  }

  /** The pid of the process the test started: the primary, unless `command` wraps it. */
  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line, past or future, that passes `test`. */
  waitFor(what: string, test: (line: LogLine) => boolean, timeoutMs = START_TIMEOUT_MS) {
    const seen = this.logs.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no log line "${what}" within ${timeoutMs} ms\n${this.transcript()}`));
      }, timeoutMs);
      const waiter = {
        test,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      this.#waiters.push(waiter);
      void this.exited.then(() => {
        if (!this.#waiters.includes(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`exited before log line "${what}"\n${this.transcript()}`));
      });
    });
  }

  event(name: string): LogLine[] {
    return this.logs.filter((line) => line.event === name);
  }

  /** Waits until `count` workers have said they listen, and returns their pids. */
  async workersListening(count: number): Promise<number[]> {
    const enough = () => this.event('worker_listening').length >= count;
    await this.waitFor(`${count} workers listening`, enough);
    return this.event('worker_listening').map((line) => line.worker_pid as number);
  }

  /**
   * The processes of the run's group that are still running, as `ps` lines. A zombie does not
   * count: tsx's esbuild helper, orphaned when its Node process exits, may wait a moment for
   * init to reap it.
   */
  groupProcesses(): string[] {
    if (!isAlive(-this.pid)) return [];
    const ps = execFileSync('ps', ['-e', '-o', 'pgid=,stat=,pid=,etime=,args='], {
      encoding: 'utf8',
    });
    return ps
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([pgid, stat]) => Number(pgid) === this.pid && !stat?.startsWith('Z'))
      .map((fields) => fields.slice(2).join(' '));
  }

  groupAlive(): boolean {
    return this.groupProcesses().length > 0;
  }

  transcript(): string {
    const logs = this.logs.map((line) => JSON.stringify(line));
    return [...this.text, ...logs, ...this.stderr].join('\n');
  }

  /** Kills the whole group, whatever state it is in. */
  kill(): void {
    if (isAlive(-this.pid)) process.kill(-this.pid, 'SIGKILL');
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts a run that is killed when the test `t` ends. */
export function startBackend(t: Teardown, options: StartOptions): Backend {
  const backend = new Backend(options);
  t.teardown(() => backend.kill());
  return backend;
}

/** Resolves when no process of the group is left running, or rejects after `timeoutMs`. */
export async function groupGone(backend: Backend, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const running = backend.groupProcesses();
    if (running.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`processes of group ${backend.pid} still running:\n${running.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Reply {
  status: number;
  body: string;
}

/** One request on a fresh connection (no keep-alive), so each is handed to a worker anew. */
export function request(port: number, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: payload === undefined ? 'GET' : 'POST',
        agent: false,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

export function integrityCheck(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}
