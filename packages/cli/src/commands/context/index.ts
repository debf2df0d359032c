import { defineCommand } from 'citty';

export default defineCommand({
  meta: {
    description: 'stored servers and tokens ("contexts") and which one is current',
    examples: ['latchkey context use https://latchkey.example.com', 'latchkey context list'],
  },
  subCommands: {
    use: () => import('./use.js').then((module) => module.default),
    list: () => import('./list.js').then((module) => module.default),
    show: () => import('./show.js').then((module) => module.default),
    delete: () => import('./delete.js').then((module) => module.default),
  },
});
