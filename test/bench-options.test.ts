/**
 * `npm run bench`'s options are checked before it starts anything: a bad one stops the run at
 * once with exit code 2 and one line that says what to change.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { WORKER_NODE_ARGS } from '../src/cluster/worker-pool.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function bench(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.trim() };
}

const overriddenArg = 'a --node-arg the workers would override is refused, saying where to set it';
t.test(overriddenArg, async (t) => {
  const semiSpace = WORKER_NODE_ARGS.find((arg) => arg.startsWith('--max-semi-space-size='));
  t.ok(semiSpace, 'the workers set their young generation size');
  // V8 reads underscores as dashes, so the other spelling is caught too.
  for (const arg of ['--max-semi-space-size=16', '--max_semi_space_size=16']) {
    t.same(bench(`--node-arg=${arg}`), {
      status: 2,
      stdout: '',
      stderr:
        `bench: --node-arg ${arg}: the workers get their own value of this option ` +
        "(WORKER_NODE_ARGS in src/cluster/worker-pool.ts), after the primary's, so it would " +
        'not apply to them; change it there instead',
    });
  }
});

t.test('other option mistakes get one line and exit code 2, not a stack trace', async (t) => {
  t.same(bench('--seconds', '0'), {
    status: 2,
    stdout: '',
    stderr: 'bench: --seconds must be a number from 1 to 60',
  });
  const unknown = bench('--secs', '3');
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /^bench: Unknown option '--secs'/);
  t.notMatch(unknown.stderr, /\n\s+at /, 'no stack trace');
});
