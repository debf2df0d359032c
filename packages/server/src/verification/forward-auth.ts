/**
 * Forward auth (docs/forward-auth.md): what a proxy in front of another service asks of a token
 * it was shown — that it is valid (the authentication hook has decided that already), holds a
 * scope, and may touch a namespace. Refusals are the error contract's R-SCOPE.
 */
import { grantsScope, namespacesAllow, type TokenScope } from '@latchkey/contract/scopes';
import { insufficientScope } from '../kernel/app-error.js';
import type { TokenRecord } from '../tokens/token.js';

export interface ForwardAuthDemand {
  /** The scope the protected location needs, if any. */
  scope?: TokenScope;
  /** The namespace the request is about, if any: the token's restriction must cover it. */
  namespace?: string;
}

/** Throws R-SCOPE when the token does not meet the demand; returns when it does. */
export function checkForwardAuthDemand(token: Pick<TokenRecord, 'scopes' | 'namespaces'>, demand: ForwardAuthDemand): void {
  if (demand.scope !== undefined && !grantsScope(token.scopes, demand.scope)) throw insufficientScope(demand.scope);
  if (demand.namespace !== undefined && !namespacesAllow(token.namespaces, demand.namespace)) {
    throw insufficientScope(demand.scope, demand.namespace);
  }
}
