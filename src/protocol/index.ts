export * from './bytes.ts';
export * from './hashes.ts';
export * from './ed25519.ts';
export * from './proof.ts';
export * from './envelope.ts';
