import { UsageError } from './cli-errors.js';
import type { CliIo } from './io.js';
import { readLine } from './read-line.js';

/**
 * Asks before something irreversible. On a terminal the user answers y/N; anywhere else
 * (scripts, CI) the command refuses unless `--yes` was given, rather than hang or guess.
 */
export async function confirmOrRefuse(io: CliIo, question: string, yes: boolean | undefined): Promise<boolean> {
  if (yes) return true;
  if (!io.stdin.isTTY) {
    throw new UsageError(`${question} Standard input is not a terminal, so pass --yes to confirm.`);
  }
  io.stderr.write(`${question} [y/N] `);
  const answer = (await readLine(io.stdin)).trim().toLowerCase();
  return answer === 'y' || answer === 'yes';
}
