import type { AccountView } from '@latchkey/contract';
import { iso } from '../http/timestamps.js';
import type { AccountRecord } from './account.js';

export function presentAccount(account: AccountRecord): AccountView {
  return { id: account.id, email: account.email, name: account.name, isAdmin: account.isAdmin, createdAt: iso(account.createdAt) };
}
