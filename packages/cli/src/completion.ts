/**
 * Shell completion scripts, generated from the command tree so they never drift from it:
 * `source <(latchkey completion bash)` or `source <(latchkey completion zsh)`.
 */

export interface CommandShape {
  name: string;
  options: string[];
  commands: CommandShape[];
}

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

export function completionScript(shell: CompletionShell, root: CommandShape): string {
  return shell === 'bash' ? bashScript(root) : zshScript(root);
}

/** Word lists per position: the nouns, each noun's verbs, each command's options. */
function wordLists(root: CommandShape) {
  const nouns = root.commands.map((command) => command.name);
  const verbs = root.commands
    .filter((command) => command.commands.length > 0)
    .map((command) => [command.name, command.commands.map((verb) => verb.name).join(' ')] as const);
  // Global options apply after any command; --version only on its own.
  const inherited = root.options.filter((option) => option !== '--version');
  const options: Array<readonly [string, string]> = [];
  for (const noun of root.commands) {
    if (noun.commands.length === 0) options.push([noun.name, [...noun.options, ...inherited].join(' ')]);
    for (const verb of noun.commands) {
      options.push([`${noun.name} ${verb.name}`, [...verb.options, ...inherited].join(' ')]);
    }
  }
  return { nouns: nouns.join(' '), verbs, options, global: root.options.join(' ') };
}

function bashScript(root: CommandShape): string {
  const { nouns, verbs, options, global } = wordLists(root);
  return `# latchkey bash completion: source <(latchkey completion bash)
_latchkey() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local words=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${nouns} ${global}"
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
${verbs.map(([noun, list]) => `      ${noun}) words="${list}" ;;`).join('\n')}
    esac
  fi
  if [ -z "$words" ]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
${options.map(([path, list]) => `      "${path}") words="${list}" ;;`).join('\n')}
    esac
    if [ -z "$words" ]; then
      case "\${COMP_WORDS[1]}" in
${options.filter(([path]) => !path.includes(' ')).map(([path, list]) => `        ${path}) words="${list}" ;;`).join('\n')}
      esac
    fi
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _latchkey latchkey
`;
}

function zshScript(root: CommandShape): string {
  const { nouns, verbs, options, global } = wordLists(root);
  return `#compdef latchkey
# latchkey zsh completion: source <(latchkey completion zsh), or save as _latchkey in $fpath
_latchkey() {
  local -a candidates
  if (( CURRENT == 2 )); then
    candidates=(${nouns} ${global})
  elif (( CURRENT == 3 )); then
    case "\${words[2]}" in
${verbs.map(([noun, list]) => `      ${noun}) candidates=(${list}) ;;`).join('\n')}
    esac
  fi
  if (( \${#candidates} == 0 )); then
    case "\${words[2]} \${words[3]}" in
${options.map(([path, list]) => `      "${path}") candidates=(${list}) ;;`).join('\n')}
    esac
    if (( \${#candidates} == 0 )); then
      case "\${words[2]}" in
${options.filter(([path]) => !path.includes(' ')).map(([path, list]) => `        ${path}) candidates=(${list}) ;;`).join('\n')}
      esac
    fi
  fi
  compadd -- \${candidates[@]}
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _latchkey "$@"
else
  compdef _latchkey latchkey
fi
`;
}
