/** An account: a person (or, later, a service) that signs in and owns tokens and namespaces. */
export interface AccountRecord {
  id: string;
  email: string | null;
  name: string | null;
  isAdmin: boolean;
  createdAt: number;
  /** Set while the account is disabled: its tokens and sessions are refused meanwhile. */
  disabledAt: number | null;
}

/** An identity at an OpenID Connect provider. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
}
