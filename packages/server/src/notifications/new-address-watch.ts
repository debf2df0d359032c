/**
 * "First use from a new address": the token service records each address a token is used from
 * (token_addresses, throttled per token and address); wrapping that one store method lets the
 * notification service look before the address is written, without the token capability
 * knowing notifications exist. The event is enqueued before the address is recorded, so a crash
 * in between repeats the check on the next use instead of losing the event (its key dedupes it).
 */
export interface AddressRecorder {
  recordTokenAddress(tokenId: string, ip: string, usedAt: number): Promise<void>;
}

export function withNewAddressEvents<S extends AddressRecorder>(
  store: S,
  noteAddress: (tokenId: string, ip: string, usedAt: number) => Promise<void>,
): S {
  return {
    ...store,
    async recordTokenAddress(tokenId: string, ip: string, usedAt: number) {
      await noteAddress(tokenId, ip, usedAt);
      await store.recordTokenAddress(tokenId, ip, usedAt);
    },
  };
}
