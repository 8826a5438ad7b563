/** POST /add_payment: redeem a witnessed payment and answer with a proof for the rotating key. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { addPaymentHash, buildProof, fromHex } from '../../protocol/index.ts';
import { AddPaymentRequest, Proof, replies } from '../schemas.ts';
import { verifiedSigners } from '../signed-request.ts';
import type { RouteDeps } from './deps.ts';

export const addPaymentRoute: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { ledger }) => {
  app.post(
    '/add_payment',
    { schema: { body: AddPaymentRequest, response: replies(Proof) } },
    async (request) => {
      const body = request.body;
      const paymentToken = fromHex(body.payment_token, 32);
      const keys = verifiedSigners(body, ({ masterPkey, rotatingPkey }) =>
        addPaymentHash(body.version, masterPkey, rotatingPkey, paymentToken),
      );

      const entitlement = ledger.redeem(keys.masterPkey, paymentToken);
      const proof = buildProof(
        ledger.backendKey,
        entitlement.genIndexHash,
        keys.rotatingPkey,
        entitlement.expiryUnixTsS,
      );
      request.log.info({ event: 'payment_redeemed', gen_index: entitlement.genIndex }, 'redeemed');
      return { result: proof, status: 200 as const };
    },
  );
};
