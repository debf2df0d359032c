import { defineCommand } from 'citty';

export default defineCommand({
  meta: {
    description: 'service accounts: non-human accounts that never sign in and hold tokens an administrator mints',
    examples: [
      'latchkey admin service-accounts create ci-deploy --description "Deploys from CI"',
      'latchkey admin service-accounts mint ci-deploy --name deploy-2026 --scope namespaces:write --expires-in 90',
    ],
  },
  subCommands: {
    list: () => import('./commands.js').then((module) => module.listCommand),
    create: () => import('./commands.js').then((module) => module.createCommand),
    delete: () => import('./commands.js').then((module) => module.deleteCommand),
    mint: () => import('./commands.js').then((module) => module.mintCommand),
    token: () => import('./commands.js').then((module) => module.tokenCommand),
  },
});
