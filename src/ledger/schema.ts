/**
 * The ledger's schema and its migrations. `PRAGMA user_version` holds the number of migrations
 * applied; each runs once, in its own transaction, in order.
 */
import type Database from 'better-sqlite3';

const MIGRATIONS: readonly string[] = [
  // 1: the tables of PROTOCOL.md's Ledger section.
  `
  CREATE TABLE runtime (
    id                      INTEGER PRIMARY KEY CHECK (id = 0),
    next_gen_index          INTEGER NOT NULL,
    salt                    BLOB    NOT NULL CHECK (length(salt) = 16),
    backend_seed            BLOB    NOT NULL CHECK (length(backend_seed) = 32),
    last_prune_unix_ts_s    INTEGER NOT NULL,
    ticket                  INTEGER NOT NULL,
    prune_claim_unix_ts_s   INTEGER NOT NULL DEFAULT 0,
    prune_claim_until_ts_s  INTEGER NOT NULL DEFAULT 0
  ) STRICT;

  CREATE TABLE unredeemed_payments (
    payment_token           BLOB    PRIMARY KEY CHECK (length(payment_token) = 32),
    duration_s              INTEGER NOT NULL CHECK (duration_s > 0 AND duration_s % 86400 = 0),
    witnessed_unix_ts_s     INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE payments (
    id                      INTEGER PRIMARY KEY,
    master_pkey             BLOB    NOT NULL CHECK (length(master_pkey) = 32),
    duration_s              INTEGER NOT NULL CHECK (duration_s > 0 AND duration_s % 86400 = 0),
    creation_unix_ts_s      INTEGER NOT NULL,
    activation_unix_ts_s    INTEGER,
    payment_token           BLOB    NOT NULL UNIQUE CHECK (length(payment_token) = 32)
  ) STRICT;
  CREATE INDEX payments_by_master ON payments (master_pkey, creation_unix_ts_s, id);
  CREATE INDEX payments_by_end ON payments (activation_unix_ts_s + duration_s)
    WHERE activation_unix_ts_s IS NOT NULL;

  CREATE TABLE subscribers (
    master_pkey             BLOB    PRIMARY KEY CHECK (length(master_pkey) = 32),
    gen_index               INTEGER NOT NULL UNIQUE,
    expiry_unix_ts_s        INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX subscribers_by_expiry ON subscribers (expiry_unix_ts_s);

  -- gen_index_hash is stored so that serving the list never hashes.
  CREATE TABLE revocations (
    gen_index               INTEGER PRIMARY KEY,
    gen_index_hash          BLOB    NOT NULL CHECK (length(gen_index_hash) = 32),
    expiry_unix_ts_s        INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX revocations_by_expiry ON revocations (expiry_unix_ts_s);
  `,
  // 2: every token ever redeemed. A payment row goes when the prune or a refund deletes it; this
  // row stays, so a store notification sent again cannot make a spent token redeemable twice.
  // Payments already redeemed are carried over with their creation day.
  `
  CREATE TABLE redeemed_payment_tokens (
    payment_token           BLOB    PRIMARY KEY CHECK (length(payment_token) = 32),
    redeemed_unix_ts_s      INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  INSERT INTO redeemed_payment_tokens (payment_token, redeemed_unix_ts_s)
    SELECT payment_token, creation_unix_ts_s FROM payments;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The database cannot be used as this release's ledger; the message says why. */
export class SchemaError extends Error {
  override name = 'SchemaError';
}

export class SchemaTooNewError extends SchemaError {
  override name = 'SchemaTooNewError';
}

function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Another program's file, which must stay as it is: one with tables but no schema version, or
 * with a schema version but without the `runtime` table, which every version of the ledger has
 * (other programs set `user_version` too).
 */
export function refuseForeign(db: Database.Database): void {
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all() as string[];
  if (tables.length === 0) return;
  if (schemaVersion(db) !== 0 && tables.includes('runtime')) return;
  throw new SchemaError(
    `the database holds ${tables.length} ${tables.length === 1 ? 'table' : 'tables'} but no ` +
      'ledger schema: it is not a Session Pro backend database',
  );
}

function refuseNewer(version: number): void {
  if (version > SCHEMA_VERSION) {
    throw new SchemaTooNewError(
      `database schema version ${version} is newer than this release supports (${SCHEMA_VERSION})`,
    );
  }
}

/**
 * Brings the database up to SCHEMA_VERSION. Refuses another program's file and a database written
 * by a newer release.
 */
export function migrate(db: Database.Database): void {
  const apply = db.transaction(() => {
    refuseForeign(db);
    const current = schemaVersion(db);
    refuseNewer(current);
    for (let version = current; version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  });
  apply.immediate();
}

/** For a reader that must not write: the schema has to be this release's already. */
export function requireCurrentSchema(db: Database.Database): void {
  refuseForeign(db);
  const current = schemaVersion(db);
  refuseNewer(current);
  if (current === 0) {
    throw new SchemaError(
      'the database is empty (the server creates its schema on its first start)',
    );
  }
  if (current < SCHEMA_VERSION) {
    throw new SchemaError(
      `database schema version ${current} is older than this release's (${SCHEMA_VERSION}); ` +
        'the server migrates it on its next start',
    );
  }
}
