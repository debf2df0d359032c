/** Readiness: this instance can serve requests only while its database answers. */
export interface ReadinessService {
  /** Resolves when the database answers; rejects with why it does not. */
  check(): Promise<void>;
}

export function createReadinessService(deps: { database: { ping(): Promise<void> } }): ReadinessService {
  return { check: () => deps.database.ping() };
}
