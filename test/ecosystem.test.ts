import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

interface App {
  env: Record<string, string>;
  kill_timeout: number;
}

/** The pm2 app that ecosystem.config.cjs gives when `pm2 start` runs with `env`. */
function appWith(env: Record<string, string>): App {
  const print = 'console.log(JSON.stringify(require(process.argv[1]).apps[0]))';
  const run = spawnSync(process.execPath, ['-e', print, join(ROOT, 'ecosystem.config.cjs')], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as App;
}

const NAMES = ['DB_PATH', 'SHUTDOWN_GRACE_MS', 'WORKERS', 'PORT'];

t.test('the ecosystem file passes the defaults; an empty variable counts as unset', async (t) => {
  for (const value of [undefined, '']) {
    const env = Object.fromEntries(NAMES.map((name) => [`SESH_PRO_BACKEND_${name}`, value ?? '']));
    const app = appWith(value === undefined ? {} : env);
    const label = value === undefined ? 'unset' : 'empty';
    t.equal(app.env.SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS, '10000', `${label}: grace period`);
    t.equal(app.kill_timeout, 15_000, `${label}: pm2 waits 5 s past the grace period`);
    t.equal(app.env.SESH_PRO_BACKEND_DB_PATH, join(ROOT, 'backend.db'), `${label}: database`);
    t.equal(app.env.SESH_PRO_BACKEND_PORT, '8000', `${label}: port`);
    t.notOk('SESH_PRO_BACKEND_WORKERS' in app.env, `${label}: one worker per CPU`);
  }
  const set = appWith({
    SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS: '2500',
    SESH_PRO_BACKEND_WORKERS: '3',
  });
  t.equal(set.env.SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS, '2500');
  t.equal(set.kill_timeout, 7_500);
  t.equal(set.env.SESH_PRO_BACKEND_WORKERS, '3');
});
