/**
 * The README's TypeScript snippets, as a newcomer would use them: each must type-check under the
 * repository's own compiler options and do what the README says it prints, against a live server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import t from 'tap';
import ts from 'typescript';
import { Ledger } from '../src/ledger/index.ts';
import { onionKeyPairFromSeed } from '../src/onion/keys.ts';
import { proofSignatureIsValid } from '../src/client/index.ts';
import { fromHex, genIndexHash, toHex, type ProofJson, type Salt } from '../src/protocol/index.ts';
import { buildServerApp } from '../src/server.ts';
import { vectors } from './support/vectors.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SNIPPETS = [...README.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
/** The token the README witnesses with the CLI before its first redemption. */
const README_TOKEN = '6199a039c950b52aeb0c40974f68c722193fb70e5cf4b7ff19b42198714f8868';
const X25519_PLACEHOLDER = "'<backend_x25519_pkey from info --json>'";

/** Writes the snippets where a reader would, importing this repository's `src/` from there. */
function writeSnippets(dir: string): string[] {
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  return SNIPPETS.map((code, i) => {
    const file = join(dir, `snippet-${i}.ts`);
    writeFileSync(file, code.replaceAll("from './src/", `from '${join(ROOT, 'src')}/`));
    return file;
  });
}

function typeErrors(files: string[]): string[] {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config;
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  options.typeRoots = [join(ROOT, 'node_modules', '@types')];
  const program = ts.createProgram(files, options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file?.fileName ?? '';
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

const run = promisify(execFile);

/** The ```json blocks of the README section under the heading that starts `### ${heading}`. */
function jsonBlocks(heading: string): unknown[] {
  const start = README.indexOf(`\n### ${heading}`);
  if (start === -1) throw new Error(`no README section ${heading}`);
  const section = README.slice(start, README.indexOf('\n#', start + 1));
  return [...section.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((m) => JSON.parse(m[1]!));
}

t.test("the README's JSON examples: the vectors' requests, and their keys' answers", async (t) => {
  const a = vectors.add_payment;
  const [redeem, answer] = jsonBlocks('`POST /add_payment`') as [unknown, { result: ProofJson }];
  t.same(redeem, {
    version: a.version,
    master_pkey: a.master_pkey,
    rotating_pkey: a.rotating_pkey,
    payment_token: a.payment_token,
    master_sig: a.master_sig,
    rotating_sig: a.rotating_sig,
  });
  const proof = answer.result;
  const genIndex0 = toHex(genIndexHash(0, fromHex(vectors.proof[0]!.salt, 16) as Salt));
  t.equal(proof.gen_index_hash, genIndex0, 'gen index 0 under the vectors\' salt');
  t.equal(proof.rotating_pkey, a.rotating_pkey);
  // Redeemed 2025-08-01 12:00 UTC for 30 days: active from the next midnight, for 30 + 1 days.
  t.equal(proof.expiry_unix_ts_s, Date.UTC(2025, 7, 2) / 1000 + 31 * 86_400);
  t.ok(proofSignatureIsValid(proof, vectors.keys.backend_pkey), 'signed by the vectors\' key');

  const g = vectors.get_pro_subscription_proof;
  t.same(jsonBlocks('`POST /get_pro_subscription_proof`')[0], {
    version: g.version,
    master_pkey: g.master_pkey,
    rotating_pkey: g.rotating_pkey,
    unix_ts_s: g.unix_ts_s,
    master_sig: g.master_sig,
    rotating_sig: g.rotating_sig,
  });

  const [, list] = jsonBlocks('`POST /get_revocations`') as [unknown, { result: { list: [] } }];
  t.same(list.result.list, [
    { expiry_unix_ts_s: proof.expiry_unix_ts_s, gen_index_hash: genIndex0 },
  ]);
});

t.test('the README has its two TypeScript snippets', async (t) => {
  t.equal(SNIPPETS.length, 2);
  t.match(SNIPPETS[0], 'client.addPayment(keys, token)');
  t.match(SNIPPETS[1], X25519_PLACEHOLDER);
});

t.test("the README's snippets type-check and print what the README says", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pro-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const [redemption, onion] = writeSnippets(dir);
  t.same(typeErrors([redemption!, onion!]), []);

  const ledger = new Ledger(new Database(':memory:'));
  const app = await buildServerApp(ledger, { logLevel: 'silent' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const port = (app.server.address() as AddressInfo).port;
  const env = { ...process.env, SESH_PRO_BACKEND_PORT: String(port) };
  const tsx = (file: string, ...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', file, ...args], { cwd: ROOT, env });

  ledger.witness(fromHex(README_TOKEN, 32), 30);
  const backendPkey = toHex(ledger.backendKey.publicKey);
  const first = await tsx(redemption!, backendPkey);
  t.match(first.stdout, /^\{\n {2}ok: true,\n {2}status: 200,\n {2}result: \{/);
  t.match(
    first.stdout,
    /\nsigned by this backend: true\nnew rotating key authorised, same expiry: true\n$/,
  );
  const second = await tsx(redemption!, backendPkey);
  t.match(second.stdout, /msg: \[ 'payment_token was already redeemed' \]/);
  t.notMatch(second.stdout, 'signed by this backend');

  // The first redemption of a subscriber revokes nothing: the list is empty, ticket 0.
  const x25519 = toHex(onionKeyPairFromSeed(ledger.backendKey.exportSeed()).publicKey);
  writeFileSync(onion!, readFileSync(onion!, 'utf8').replace(X25519_PLACEHOLDER, `'${x25519}'`));
  const sealed = await tsx(onion!);
  t.equal(sealed.stdout, '200 {"result":{"list":[],"ticket":0,"version":0},"status":200}\n');

  // With the Ed25519 key by mistake, the server's plain error is shown, not a decryption crash.
  writeFileSync(onion!, readFileSync(onion!, 'utf8').replace(x25519, backendPkey));
  const wrongKey = await tsx(onion!).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => error,
  );
  t.equal(wrongKey.code, 1);
  t.equal(
    wrongKey.stderr,
    '400 {"msg":["onion ciphertext could not be decrypted"],"status":400}\n',
  );
  ledger.close();
});
