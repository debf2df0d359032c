/**
 * The logic of every command that talks to a server or the config, behind one lazy import
 * (commands/load-actions.ts): the build puts this module, with zod and the contract schemas,
 * in a file of its own, so `--help`, `version` and `completion` start without it.
 */
export { useContext } from './context/use.js';
export { listContexts } from './context/list.js';
export { showContext } from './context/show.js';
export { deleteContext } from './context/delete.js';
export { createNamespace } from './namespace/create.js';
export { listNamespaces } from './namespace/list.js';
export { deleteNamespace } from './namespace/delete.js';
export { useNamespace } from './namespace/use.js';
export { showToken } from './token/show.js';
export { revokeToken } from './token/revoke.js';
export { rotateToken } from './token/rotate.js';
export { createToken } from './token/create.js';
export { listTokens } from './token/list.js';
export { listAccounts, showAccount, changeAccount } from './admin/accounts.js';
export { listAdminTokens, revokeAdminToken } from './admin/tokens.js';
export { showAudit } from './admin/audit.js';
export { listServiceAccounts, createServiceAccount, deleteServiceAccount, mintServiceToken } from './admin/service-accounts.js';
export { showPolicy, setPolicy } from './admin/policy.js';
export { listThrottles, liftThrottle } from './admin/throttles.js';
