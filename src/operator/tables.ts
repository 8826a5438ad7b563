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

export function renderTable(db: Database.Database, name: string): string {
  const statement = db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`);
  const columns = statement.columns().map((c) => c.name);
  const table = new Table({ head: columns, style: { head: [], border: [] } });
  let count = 0;
  for (const row of statement.iterate() as Iterable<Record<string, unknown>>) {
    table.push(columns.map((column) => formatCell(column, row[column])));
    count++;
  }
  return `${name} (${count} ${count === 1 ? 'row' : 'rows'})\n${table.toString()}`;
}

export function renderAllTables(db: Database.Database): string {
  return tableNames(db)
    .map((name) => renderTable(db, name))
    .join('\n\n');
}
