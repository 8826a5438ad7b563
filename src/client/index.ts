export * from './requests.ts';
export * from './http-client.ts';
