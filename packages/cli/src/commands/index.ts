/**
 * Every command that talks to a server or the config, behind one lazy import: the build puts
 * this module (with zod and the contract schemas) in its own file, loaded only when such a
 * command runs, so `--help` and `version` start without it (PERFORMANCE.md P6).
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
