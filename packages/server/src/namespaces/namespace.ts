/** A namespace: a DNS-1123 label, unique across the instance, owned by one account. */
export interface NamespaceRecord {
  id: string;
  name: string;
  accountId: string;
  createdAt: number;
}
