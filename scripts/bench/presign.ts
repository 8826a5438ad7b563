/**
 * Pre-signing on every core while the server is not under load: a pool is split between worker
 * threads, each of which gets the key objects once and builds its slice with buildPool.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { onionServerKey } from './onion-envelopes.ts';
import { buildPool, type KeyMaterial, type PoolJob } from './requests.ts';

interface JobMessage {
  id: number;
  job: PoolJob;
}

interface ResultMessage {
  id: number;
  bodies?: (string | Buffer)[];
  error?: string;
}

/** Worker threads do not inherit tsx's loader, so each one registers it before loading us. */
function startWorker(keys: KeyMaterial): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => {
    tsx.register();
    return import(${JSON.stringify(import.meta.url)});
  })`;
  return new Worker(boot, { eval: true, workerData: keys });
}

function split(job: PoolJob, parts: number): PoolJob[] {
  const size = Math.ceil(job.count / parts);
  const slices: PoolJob[] = [];
  for (let at = 0; at < job.count; at += size) {
    const count = Math.min(size, job.count - at);
    const slice = { ...job, from: job.from + at, count };
    if (job.kind === 'add_payment') {
      slices.push({ ...slice, kind: 'add_payment', tokens: job.tokens.slice(at, at + count) });
    } else {
      slices.push(slice as PoolJob);
    }
  }
  return slices;
}

/** Builds every pool, in order, on as many threads as there are cores. */
export async function presignPools(
  keys: KeyMaterial,
  jobs: PoolJob[],
): Promise<(string | Buffer)[][]> {
  const threads = Math.max(1, Math.min(availableParallelism(), 4));
  const workers = Array.from({ length: threads }, () => startWorker(keys));
  let nextId = 0;
  const run = (worker: Worker, job: PoolJob) =>
    new Promise<(string | Buffer)[]>((resolve, reject) => {
      const id = nextId++;
      const onMessage = (message: ResultMessage) => {
        if (message.id !== id) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        if (message.error !== undefined) reject(new Error(message.error));
        else resolve(message.bodies!);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.postMessage({ id, job } satisfies JobMessage);
    });
  try {
    const pools: (string | Buffer)[][] = [];
    for (const job of jobs) {
      const slices = split(job, threads);
      const parts = await Promise.all(slices.map((slice, i) => run(workers[i]!, slice)));
      pools.push(parts.flat());
    }
    return pools;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

if (!isMainThread) {
  const keys = workerData as KeyMaterial;
  parentPort!.on('message', ({ id, job }: JobMessage) => {
    try {
      const server = job.kind === 'onion_get_proof' ? onionServerKey(job.onionPkey) : undefined;
      parentPort!.postMessage({ id, bodies: buildPool(keys, job, server) } satisfies ResultMessage);
    } catch (error) {
      parentPort!.postMessage({ id, error: String(error) } satisfies ResultMessage);
    }
  });
}
