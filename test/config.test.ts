import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.ts';
import { resolveLocation } from '../src/ledger/index.ts';

t.test('defaults: ./backend.db on 127.0.0.1:8000 at info level', async (t) => {
  const config = loadConfig({});
  t.match(config, {
    db: { path: './backend.db', isUri: false },
    printTables: false,
    host: '127.0.0.1',
    port: 8000,
    logLevel: 'info',
    shutdownGraceMs: 10_000,
  });
  t.ok(config.workers >= 1);
});

t.test('every variable is read', async (t) => {
  const config = loadConfig({
    SESH_PRO_BACKEND_DB_PATH: 'file::memory:?cache=shared',
    SESH_PRO_BACKEND_DB_PATH_IS_URI: '1',
    SESH_PRO_BACKEND_PRINT_TABLES: '1',
    SESH_PRO_BACKEND_HOST: '0.0.0.0',
    SESH_PRO_BACKEND_PORT: '9001',
    SESH_PRO_BACKEND_LOG_LEVEL: 'warn',
    SESH_PRO_BACKEND_WORKERS: '3',
    SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS: '2500',
  });
  t.same(config, {
    db: { path: 'file::memory:?cache=shared', isUri: true },
    printTables: true,
    host: '0.0.0.0',
    port: 9001,
    logLevel: 'warn',
    workers: 3,
    shutdownGraceMs: 2500,
  });
});

t.test('a value that is not allowed stops start-up naming the variable', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['PORT', '70000', /^SESH_PRO_BACKEND_PORT must be a whole number from 0 to 65535, got "70000"$/],
    ['PORT', '80a', /^SESH_PRO_BACKEND_PORT/],
    ['DB_PATH_IS_URI', 'true', /^SESH_PRO_BACKEND_DB_PATH_IS_URI must be 0 or 1/],
    ['LOG_LEVEL', 'loud', /^SESH_PRO_BACKEND_LOG_LEVEL must be one of fatal, error/],
    ['WORKERS', '0', /^SESH_PRO_BACKEND_WORKERS must be a whole number from 1/],
    [
      'SHUTDOWN_GRACE_MS',
      '600001',
      /^SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS must be a whole number from 0 to 600000, got "600001"$/,
    ],
  ];
  for (const [name, value, message] of cases) {
    t.throws(() => loadConfig({ [`SESH_PRO_BACKEND_${name}`]: value }), { name: 'ConfigError', message }, name);
  }
  t.equal(loadConfig({ SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS: '0' }).shutdownGraceMs, 0);
  t.throws(
    () => loadConfig({ SESH_PRO_BACKEND_DB_PATH: 'file:/x?vfs=unix', SESH_PRO_BACKEND_DB_PATH_IS_URI: '1' }),
    new ConfigError('SESH_PRO_BACKEND_DB_PATH: database URI parameter "vfs" is not supported'),
  );
});

t.test('a database URI is read as SQLite reads it, or refused naming the variable', async (t) => {
  const uri = (path: string) =>
    loadConfig({ SESH_PRO_BACKEND_DB_PATH: path, SESH_PRO_BACKEND_DB_PATH_IS_URI: '1' });
  const refusals: [string, string][] = [
    ['file:/tmp/%zz.db', 'database URI path has a malformed %-escape: "/tmp/%zz.db"'],
    [
      'file://otherhost/x.db',
      'database URI authority must be empty or localhost, got "otherhost" ' +
        '(an absolute path is file:/path or file:///path)',
    ],
    [
      'file://tmp/x.db',
      'database URI authority must be empty or localhost, got "tmp" ' +
        '(an absolute path is file:/path or file:///path)',
    ],
  ];
  for (const [path, message] of refusals) {
    t.throws(() => uri(path), new ConfigError(`SESH_PRO_BACKEND_DB_PATH: ${message}`), path);
  }
  const files: [string, string][] = [
    ['file:/tmp/a.db#fragment', '/tmp/a.db'],
    ['file:///tmp/a%20b.db?mode=rw#x', '/tmp/a b.db'],
    ['file://localhost/tmp/a.db', '/tmp/a.db'],
  ];
  for (const [path, filename] of files) {
    t.equal(resolveLocation(uri(path).db).filename, filename, path);
  }
  t.equal(resolveLocation(uri('file://').db).inMemory, true);
});

t.test('a database URI without DB_PATH_IS_URI=1 is refused, not taken as a file name', async (t) => {
  for (const isUri of [undefined, '0']) {
    t.throws(
      () =>
        loadConfig({
          SESH_PRO_BACKEND_DB_PATH: 'file:/var/lib/pro/backend.db?mode=rw',
          ...(isUri === undefined ? {} : { SESH_PRO_BACKEND_DB_PATH_IS_URI: isUri }),
        }),
      new ConfigError(
        'SESH_PRO_BACKEND_DB_PATH "file:/var/lib/pro/backend.db?mode=rw" is an SQLite URI: set ' +
          'SESH_PRO_BACKEND_DB_PATH_IS_URI=1 to open it as one (a file whose name starts with ' +
          '"file:" is ./file:...)',
      ),
      `DB_PATH_IS_URI ${isUri ?? 'unset'}`,
    );
  }
  t.equal(loadConfig({ SESH_PRO_BACKEND_DB_PATH: './file:x.db' }).db.path, './file:x.db');
  t.throws(
    () => loadConfig({ SESH_PRO_BACKEND_DB_PATH_IS_URI: '1' }),
    new ConfigError(
      'SESH_PRO_BACKEND_DB_PATH_IS_URI=1 needs SESH_PRO_BACKEND_DB_PATH set to a file: URI; it is unset',
    ),
  );
});

t.test('a misspelled variable stops start-up rather than being ignored', async (t) => {
  // Ignored, it would leave DB_PATH at its default: a new database with a key of its own.
  t.throws(() => loadConfig({ SESH_PRO_BACKEND_DBPATH: '/srv/pro/backend.db' }), {
    name: 'ConfigError',
    message:
      'SESH_PRO_BACKEND_DBPATH is not a variable of this server; it reads ' +
      'SESH_PRO_BACKEND_DB_PATH, SESH_PRO_BACKEND_DB_PATH_IS_URI, SESH_PRO_BACKEND_PRINT_TABLES, ' +
      'SESH_PRO_BACKEND_HOST, SESH_PRO_BACKEND_PORT, SESH_PRO_BACKEND_LOG_LEVEL, ' +
      'SESH_PRO_BACKEND_WORKERS, SESH_PRO_BACKEND_SHUTDOWN_GRACE_MS',
  });
  t.throws(() => loadConfig({ SESH_PRO_BACKEND_: '1' }), { name: 'ConfigError' });
  // Other programs' variables, and names that only look alike, are not ours to judge.
  t.doesNotThrow(() => loadConfig({ SESH_PRO_BACKEND: 'x', SESH_PRO_CLIENT_PORT: '1', PORT: 'x' }));
});
