import Database from 'better-sqlite3';
import Table from 'cli-table3';
import t from 'tap';
import { formatCell, writeAllTables, writeTable } from '../../src/operator/tables.ts';

/** A table whose widest cells come last, so that a block that fixed its own widths would show. */
function databaseWith(rows: number): Database.Database {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, token BLOB, created_unix_ts_s INTEGER)');
  const insert = db.prepare('INSERT INTO items VALUES (?, ?, ?)');
  for (let i = 1; i <= rows; i++) {
    insert.run(i * 37, i % 7 === 0 ? null : Buffer.alloc(1 + (i % 5), i), i * 86_400);
  }
  return db;
}

/** What cli-table3 gives for the whole table in one piece. */
function wholeTable(db: Database.Database, name: string): string {
  const rows = db.prepare(`SELECT * FROM ${name}`).all() as Record<string, unknown>[];
  const columns = db.prepare(`SELECT * FROM ${name}`).columns().map((c) => c.name);
  const table = new Table({ head: columns, style: { head: [], border: [] } });
  for (const row of rows) table.push(columns.map((c) => formatCell(c, row[c])));
  const count = `${rows.length} ${rows.length === 1 ? 'row' : 'rows'}`;
  return `${name} (${count})\n${table.toString()}`;
}

function written(db: Database.Database, name: string): { text: string; pieces: number } {
  const pieces: string[] = [];
  writeTable(db, name, (piece) => pieces.push(piece));
  return { text: pieces.join('\n'), pieces: pieces.length };
}

t.test('a table written in blocks is the same text as cli-table3 gives for it whole', async (t) => {
  // Blocks of 200 rows: none, one, one full, one and a row, two full, and a part block.
  for (const rows of [0, 1, 200, 201, 400, 450]) {
    const db = databaseWith(rows);
    const { text, pieces } = written(db, 'items');
    t.equal(text, wholeTable(db, 'items'), `${rows} rows`);
    t.equal(pieces, 1 + Math.max(1, Math.ceil(rows / 200)), `${rows} rows: the name, then blocks`);
    db.close();
  }
});

t.test('every table is written, a blank line between two', async (t) => {
  const db = databaseWith(3);
  db.exec('CREATE TABLE empty (duration_s INTEGER)');
  const pieces: string[] = [];
  writeAllTables(db, (piece) => pieces.push(piece));
  t.equal(pieces.join('\n'), `${wholeTable(db, 'items')}\n\n${wholeTable(db, 'empty')}`);
  db.close();
});
