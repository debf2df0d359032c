/**
 * Test-only preload (`node --import`) for docs/security.md, item 16. It makes better-sqlite3
 * quietly apply a weaker setting than the server asks for, as an ignored PRAGMA or a driver built
 * with other defaults would, so a test can watch the server's read-back refuse to start.
 *
 * LATCHKEY_TEST_WEAKEN names the setting: journal_mode, synchronous, foreign_keys or
 * busy_timeout. Unset, the preload changes nothing (the control case).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const WEAKER = {
  journal_mode: 'journal_mode = DELETE',
  synchronous: 'synchronous = NORMAL',
  foreign_keys: 'foreign_keys = OFF',
  busy_timeout: 'busy_timeout = 100',
};

const setting = process.env.LATCHKEY_TEST_WEAKEN;
if (setting && !(setting in WEAKER)) throw new Error(`LATCHKEY_TEST_WEAKEN: unknown setting ${setting}`);

const pragma = Database.prototype.pragma;
Database.prototype.pragma = function weakenedPragma(source, options) {
  const [name, value] = String(source).split('=');
  const asked = value !== undefined && name.trim().toLowerCase() === setting;
  return pragma.call(this, asked ? WEAKER[setting] : source, options);
};
