import { defineCommand } from 'citty';

export default defineCommand({
  meta: {
    description: 'administer this server (administrators only): accounts, every account’s tokens, the audit log, service accounts, the policy, throttled addresses',
    examples: [
      'latchkey admin accounts list --state disabled',
      'latchkey admin tokens list --unused-for 90',
      'latchkey admin audit --since 2026-03-01 --output ndjson > audit.ndjson',
      'latchkey admin service-accounts mint ci-deploy --name deploy --expires-in 90',
      'latchkey admin policy set --max-lifetime 30',
    ],
    notes: 'These commands need a token with the admin:read scope (admin:write to change anything) of an administrator’s account.',
  },
  subCommands: {
    accounts: () => import('./accounts/index.js').then((module) => module.default),
    tokens: () => import('./tokens/index.js').then((module) => module.default),
    audit: () => import('./audit.js').then((module) => module.default),
    'service-accounts': () => import('./service-accounts/index.js').then((module) => module.default),
    policy: () => import('./policy/index.js').then((module) => module.default),
    throttles: () => import('./throttles/index.js').then((module) => module.default),
  },
});
