#!/usr/bin/env node
// The operator CLI as the package's bin: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli.ts');
process.exitCode = runCli(process.argv.slice(2));
