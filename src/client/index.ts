export * from './requests.ts';
export * from './http-client.ts';
export * from './onion.ts';
