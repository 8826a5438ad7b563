/** GET /health: the process serves and its database answers. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { toHex } from '../../protocol/index.ts';
import { Health, replies } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

export const healthRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ledger }) => {
  const backendPkey = toHex(ledger.backendKey.publicKey);
  app.get('/health', { schema: { response: replies(Health) } }, async () => {
    ledger.currentTicket();
    return { result: { backend_pkey: backendPkey, ok: true }, status: 200 as const };
  });
};
