export * from './admin.js';
export * from './errors.js';
export * from './forward-auth.js';
export * from './notifications.js';
export * from './schemas.js';
export * from './scopes.js';
export * from './token-format.js';
export * from './webhooks.js';
