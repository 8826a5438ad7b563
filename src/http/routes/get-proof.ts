/**
 * POST /get_pro_subscription_proof: authorise a new rotating key for an existing subscriber, under
 * the subscriber's current gen index and expiry.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { buildProof, getProofHash } from '../../protocol/index.ts';
import { RequestError } from '../errors.ts';
import { GetProofRequest, Proof, replies } from '../schemas.ts';
import { verifiedSigners } from '../signed-request.ts';
import type { RouteDeps } from './deps.ts';

/** How far a request's timestamp may be from the server clock. */
export const MAX_CLOCK_SKEW_S = 300;

export const getProofRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ledger }) => {
  app.post(
    '/get_pro_subscription_proof',
    { schema: { body: GetProofRequest, response: replies(Proof) } },
    async (request) => {
      const body = request.body;
      const now = ledger.clock();
      const problems: string[] = [];
      if (Math.abs(body.unix_ts_s - now) > MAX_CLOCK_SKEW_S) {
        problems.push(`unix_ts_s is more than ${MAX_CLOCK_SKEW_S} seconds from the server clock (${now})`);
      }
      const keys = verifiedSigners(
        body,
        ({ masterPkey, rotatingPkey }) =>
          getProofHash(body.version, masterPkey, rotatingPkey, body.unix_ts_s),
        problems,
      );

      const entitlement = ledger.subscriber(keys.masterPkey);
      if (!entitlement || entitlement.expiryUnixTsS <= now) {
        throw new RequestError(400, ['master_pkey has no active Session Pro subscription']);
      }
      const proof = buildProof(
        ledger.backendKey,
        entitlement.genIndexHash,
        keys.rotatingPkey,
        entitlement.expiryUnixTsS,
      );
      return { result: proof, status: 200 as const };
    },
  );
};
