/** `latchkey completion bash|zsh`: the scripts, generated from the command tree they complete. */
import { defineCommand } from 'citty';
import { UsageError } from '../cli-errors.js';
import { commandShape, type AnyCommand } from '../command-runner.js';
import { COMPLETION_SHELLS, completionScript, type CompletionShell } from '../completion.js';
import { ioOf } from './load-actions.js';

export function completionCommand(root: AnyCommand) {
  return defineCommand({
    meta: {
      description: 'print a shell completion script',
      examples: ['source <(latchkey completion bash)', 'latchkey completion zsh > "${fpath[1]}/_latchkey"'],
    },
    args: { shell: { type: 'positional', required: true, description: 'bash or zsh' } },
    run: async (context) => {
      const { shell } = context.args;
      if (!isShell(shell)) {
        throw new UsageError(`command-argument value '${shell}' is invalid for argument 'shell'. Allowed choices are ${COMPLETION_SHELLS.join(', ')}.`);
      }
      ioOf(context).stdout.write(completionScript(shell, await commandShape(root)));
    },
  });
}

const isShell = (value: string): value is CompletionShell => (COMPLETION_SHELLS as readonly string[]).includes(value);
