export * from './clock.ts';
export * from './database.ts';
export * from './ledger.ts';
export { SCHEMA_VERSION, SchemaError, SchemaTooNewError } from './schema.ts';
