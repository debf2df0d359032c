import { defineCommand } from 'citty';

export default defineCommand({
  meta: {
    description: 'list, show, disable, enable and delete accounts',
    examples: ['latchkey admin accounts list --search example.com', 'latchkey admin accounts show bob@example.com', 'latchkey admin accounts disable bob@example.com'],
  },
  subCommands: {
    list: () => import('./list.js').then((module) => module.default),
    show: () => import('./show.js').then((module) => module.default),
    disable: () => import('./change.js').then((module) => module.disableCommand),
    enable: () => import('./change.js').then((module) => module.enableCommand),
    delete: () => import('./change.js').then((module) => module.deleteCommand),
  },
});
