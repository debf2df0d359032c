/**
 * `@latchkey/verify`: check Latchkey tokens in a Node service (README.md is the recipe).
 */
export {
  allowlistAdmits,
  createVerifier,
  type RefusedToken,
  type VerifiedToken,
  type Verifier,
  type VerifierOptions,
  type VerifierStats,
  type VerifyDemand,
  type VerifyResult,
} from './verifier.js';
export {
  authorize,
  bearerToken,
  latchkeyExpress,
  latchkeyFastify,
  refusalResponse,
  type ExpressLikeRequest,
  type ExpressLikeResponse,
  type FastifyLikeInstance,
  type FastifyLikeReply,
  type FastifyLikeRequest,
  type ProtectOptions,
  type Refusal,
} from './middleware.js';
export { secretDigest, TokenCache, type ActiveToken } from './token-cache.js';
