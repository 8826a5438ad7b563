/**
 * POST /get_revocations: every revocation when the client's ticket differs from the current one
 * (older, newer or from another database), an empty list when it is current.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RevocationCache } from '../revocation-cache.ts';
import { GetRevocationsRequest, replies, RevocationList } from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

export const getRevocationsRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ledger }) => {
  const cache = new RevocationCache(ledger);
  app.post(
    '/get_revocations',
    { schema: { body: GetRevocationsRequest, response: replies(RevocationList) } },
    async (request, reply) => {
      // Bytes are sent as they are, skipping the serializer: the cache already holds the bytes
      // the response schema describes.
      const serialized = cache.answer(request.body.ticket);
      return reply.type('application/json').send(serialized as never);
    },
  );
};
