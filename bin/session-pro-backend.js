#!/usr/bin/env node
// The operator CLI as the package's bin: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
main(process.argv.slice(2), 'session-pro-backend');
