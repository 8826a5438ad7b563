/**
 * The benchmark's yardstick, not the product: a bare node:http server that does for a
 * /get_pro_subscription_proof body only what the crypto floor times, plus the JSON and the
 * request hash those need. No Fastify, no schema, no database, no proof. Run under the same load
 * as the product, it shows how close to the floor any Node server gets on this machine with
 * these libraries and this load generator, so that the product's gap splits into what Node's
 * HTTP and autocannon cost and what the product's own layers cost.
 *
 * It runs like the product: a cluster primary forking SESH_PRO_BACKEND_WORKERS workers with the
 * product's worker options, listening on SESH_PRO_BACKEND_PORT, with GET /health. A body whose
 * signatures do not verify gets a 400, which the benchmark counts as a failure.
 */
import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { GetProofBody } from '../../src/client/index.ts';
import { workerExecArgv } from '../../src/cluster/worker-pool.ts';
import {
  BackendKey,
  fromHex,
  getProofHash,
  toHex,
  verifyClientSignature,
} from '../../src/protocol/index.ts';

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}

function answer(key: BackendKey, raw: Buffer, res: ServerResponse): void {
  let fields: GetProofBody;
  try {
    fields = JSON.parse(raw.toString('utf8')) as GetProofBody;
  } catch {
    return reply(res, 400, '{"status":400,"errors":["not JSON"]}');
  }
  const master = fromHex(fields.master_pkey, 32);
  const rotating = fromHex(fields.rotating_pkey, 32);
  const hash = getProofHash(fields.version, master, rotating, fields.unix_ts_s);
  const verified =
    verifyClientSignature(master, hash, fromHex(fields.master_sig, 64)) &&
    verifyClientSignature(rotating, hash, fromHex(fields.rotating_sig, 64));
  if (!verified) return reply(res, 400, '{"status":400,"errors":["signature"]}');
  reply(res, 200, `{"status":200,"sig":"${toHex(key.sign(hash))}"}`);
}

function serve(port: number): void {
  const key = BackendKey.generate();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/health') return reply(res, 200, '{"status":200}');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        answer(key, Buffer.concat(chunks), res);
      } catch {
        reply(res, 400, '{"status":400,"errors":["bad field"]}');
      }
    });
  });
  server.listen(port, '127.0.0.1');
  // Nothing to finish: a yardstick's open requests do not matter once the benchmark stops it.
  process.once('SIGTERM', () => process.exit(0));
}

const port = Number(process.env.SESH_PRO_BACKEND_PORT);
const workers = Number(process.env.SESH_PRO_BACKEND_WORKERS ?? 2);
if (cluster.isPrimary) {
  cluster.setupPrimary({ execArgv: workerExecArgv() });
  for (let i = 0; i < workers; i++) cluster.fork();
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  serve(port);
}
