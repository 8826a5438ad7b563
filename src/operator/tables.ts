/**
 * Every ledger table as a readable box-drawn table: bytes as hex, timestamps also as UTC dates,
 * durations also in days. The backend key seed and the salt are shown only by length: they are
 * secrets, and an operator never needs their bytes on screen.
 */
import type Database from 'better-sqlite3';
import Table from 'cli-table3';
import { DAY_S } from '../ledger/index.ts';

const SECRET_COLUMNS = new Set(['backend_seed', 'salt']);

function utc(unixTsS: number): string {
  return new Date(unixTsS * 1000).toISOString().replace('.000Z', 'Z');
}

export function formatCell(column: string, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Uint8Array) {
    if (SECRET_COLUMNS.has(column)) return `(secret, ${value.length} bytes)`;
    return Buffer.from(value).toString('hex');
  }
  if (typeof value === 'number' && column.endsWith('_ts_s')) {
    return value === 0 ? '0' : `${value} (${utc(value)})`;
  }
  if (typeof value === 'number' && column.endsWith('duration_s')) {
    return `${value} (${value / DAY_S} days)`;
  }
  return String(value);
}

/** The user tables of the database, in creation order. */
export function tableNames(db: Database.Database): string[] {
  const rows = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")
    .all() as { name: string }[];
  return rows.map((r) => r.name);
}

/**
 * cli-table3 lays a table out in time that grows with the square of its rows (100,000 rows took
 * 116 s here), and `redeemed_payment_tokens` is never pruned. A table is therefore laid out in blocks of
 * this many rows, with every block's column widths fixed to the whole table's, and the blocks are
 * joined where the one table's row separators would be.
 */
const BLOCK_ROWS = 200;

/** cli-table3's padding: one space on each side of a cell. */
const PADDING = 2;

/**
 * One table, as `${name} (N rows)` and then the box-drawn table, handed to `out` a block at a
 * time: the same text as cli-table3 gives for the whole table at once. The rows are read twice
 * (once for the column widths), so the caller holds a read transaction for one snapshot.
 */
export function writeTable(db: Database.Database, name: string, out: (text: string) => void): void {
  const statement = db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`);
  const columns = statement.columns().map((c) => c.name);
  const cellsOf = (row: Record<string, unknown>) => columns.map((c) => formatCell(c, row[c]));
  const widths = columns.map((column) => column.length);
  let count = 0;
  for (const row of statement.iterate() as Iterable<Record<string, unknown>>) {
    cellsOf(row).forEach((cell, i) => (widths[i] = Math.max(widths[i]!, cell.length)));
    count++;
  }
  out(`${name} (${count} ${count === 1 ? 'row' : 'rows'})`);

  const colWidths = widths.map((width) => width + PADDING);
  let block: string[][] = [];
  let separator = '';
  let first = true;
  const flush = (last: boolean) => {
    const head = first ? { head: columns } : {};
    const table = new Table({ style: { head: [], border: [] }, colWidths, ...head });
    table.push(...block);
    const lines = table.toString().split('\n');
    // The line under the head is the separator that cli-table3 draws between rows.
    if (first) separator = lines[2]!;
    const body = lines.slice(first ? 0 : 1, last ? undefined : -1);
    out((last ? body : [...body, separator]).join('\n'));
    first = false;
    block = [];
  };
  for (const row of statement.iterate() as Iterable<Record<string, unknown>>) {
    // A full block is written once another row follows it: only the last block has the bottom.
    if (block.length === BLOCK_ROWS) flush(false);
    block.push(cellsOf(row));
  }
  flush(true);
}

/**
 * Every table, from one snapshot of the database, separated by blank lines. Each piece handed to
 * `out` is whole lines, so a large table is never held in memory at once.
 */
export function writeAllTables(db: Database.Database, out: (text: string) => void): void {
  const read = db.transaction(() => {
    tableNames(db).forEach((name, i) => {
      if (i > 0) out('');
      writeTable(db, name, out);
    });
  });
  read.deferred();
}
