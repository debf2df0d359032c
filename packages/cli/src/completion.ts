/**
 * Shell completion scripts, generated from the command tree so they never drift from it:
 * `source <(latchkey completion bash)` or `source <(latchkey completion zsh)`.
 */

export interface CommandShape {
  name: string;
  options: string[];
  commands: CommandShape[];
  /** Words offered as an option's value (`--scope` → the scope names). */
  values?: Array<{ option: string; words: string[] }>;
}

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

export function completionScript(shell: CompletionShell, root: CommandShape): string {
  return shell === 'bash' ? bashScript(root) : zshScript(root);
}

/**
 * Word lists per position: the nouns, each noun's verbs, a group verb's own verbs (`admin
 * accounts list`), and theirs one level further (`admin service-accounts token create`), each
 * command's options, and the values after an option.
 */
function wordLists(root: CommandShape) {
  const nouns = root.commands.map((command) => command.name);
  const verbs = root.commands
    .filter((command) => command.commands.length > 0)
    .map((command) => [command.name, command.commands.map((verb) => verb.name).join(' ')] as const);
  const subverbs: Array<readonly [string, string]> = [];
  // Global options apply after any command; --version only on its own.
  const inherited = root.options.filter((option) => option !== '--version');
  const options: Array<readonly [string, string]> = [];
  const subOptions: Array<readonly [string, string]> = [];
  // Values after an option: keyed by "noun verb --option" (or "noun verb sub --option").
  const values: Array<readonly [string, string]> = [];
  const subValues: Array<readonly [string, string]> = [];
  // Four words deep: "noun verb sub" → its commands; "noun verb sub deep" → options, values.
  const deepverbs: Array<readonly [string, string]> = [];
  const deepOptions: Array<readonly [string, string]> = [];
  const deepValues: Array<readonly [string, string]> = [];
  for (const noun of root.commands) {
    if (noun.commands.length === 0) options.push([noun.name, [...noun.options, ...inherited].join(' ')]);
    for (const verb of noun.commands) {
      options.push([`${noun.name} ${verb.name}`, [...verb.options, ...inherited].join(' ')]);
      for (const { option, words } of verb.values ?? []) values.push([`${noun.name} ${verb.name} ${option}`, words.join(' ')]);
      if (verb.commands.length > 0) subverbs.push([`${noun.name} ${verb.name}`, verb.commands.map((sub) => sub.name).join(' ')]);
      for (const sub of verb.commands) {
        subOptions.push([`${noun.name} ${verb.name} ${sub.name}`, [...sub.options, ...inherited].join(' ')]);
        for (const { option, words } of sub.values ?? []) subValues.push([`${noun.name} ${verb.name} ${sub.name} ${option}`, words.join(' ')]);
        if (sub.commands.length > 0) deepverbs.push([`${noun.name} ${verb.name} ${sub.name}`, sub.commands.map((deep) => deep.name).join(' ')]);
        for (const deep of sub.commands) {
          const path = `${noun.name} ${verb.name} ${sub.name} ${deep.name}`;
          deepOptions.push([path, [...deep.options, ...inherited].join(' ')]);
          for (const { option, words } of deep.values ?? []) deepValues.push([`${path} ${option}`, words.join(' ')]);
        }
      }
    }
  }
  return { nouns: nouns.join(' '), verbs, subverbs, deepverbs, options, subOptions, deepOptions, values, subValues, deepValues, global: root.options.join(' ') };
}

function bashScript(root: CommandShape): string {
  const { nouns, verbs, subverbs, deepverbs, options, subOptions, deepOptions, values, subValues, deepValues, global } = wordLists(root);
  return `# latchkey bash completion: source <(latchkey completion bash)
_latchkey() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local words=""
${values.length + subValues.length + deepValues.length === 0 ? '' : bashValues(values, subValues, deepValues)}  if [ "$COMP_CWORD" -eq 1 ]; then
    words="${nouns} ${global}"
  elif [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
${verbs.map(([noun, list]) => `      ${noun}) words="${list}" ;;`).join('\n')}
    esac
${
  subverbs.length === 0
    ? ''
    : `  elif [ "$COMP_CWORD" -eq 3 ]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]}" in
${subverbs.map(([path, list]) => `      "${path}") words="${list}" ;;`).join('\n')}
    esac
`
}${
  deepverbs.length === 0
    ? ''
    : `  elif [ "$COMP_CWORD" -eq 4 ]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]} \${COMP_WORDS[3]}" in
${deepverbs.map(([path, list]) => `      "${path}") words="${list}" ;;`).join('\n')}
    esac
`
}  fi
${
  deepOptions.length === 0
    ? ''
    : `  if [ -z "$words" ] && [ "$COMP_CWORD" -gt 4 ]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]} \${COMP_WORDS[3]} \${COMP_WORDS[4]}" in
${deepOptions.map(([path, list]) => `      "${path}") words="${list}" ;;`).join('\n')}
    esac
  fi
`
}${
  subOptions.length === 0
    ? ''
    : `  if [ -z "$words" ]; then
    case "\${COMP_WORDS[1]} \${COMP_WORDS[2]} \${COMP_WORDS[3]}" in
${subOptions.map(([path, list]) => `      "${path}") words="${list}" ;;`).join('\n')}
    esac
  fi
`
}  if [ -z "$words" ]; then
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
  const { nouns, verbs, subverbs, deepverbs, options, subOptions, deepOptions, values, subValues, deepValues, global } = wordLists(root);
  return `#compdef latchkey
# latchkey zsh completion: source <(latchkey completion zsh), or save as _latchkey in $fpath
_latchkey() {
  local -a candidates
${values.length + subValues.length + deepValues.length === 0 ? '' : zshValues(values, subValues, deepValues)}  if (( CURRENT == 2 )); then
    candidates=(${nouns} ${global})
  elif (( CURRENT == 3 )); then
    case "\${words[2]}" in
${verbs.map(([noun, list]) => `      ${noun}) candidates=(${list}) ;;`).join('\n')}
    esac
${
  subverbs.length === 0
    ? ''
    : `  elif (( CURRENT == 4 )); then
    case "\${words[2]} \${words[3]}" in
${subverbs.map(([path, list]) => `      "${path}") candidates=(${list}) ;;`).join('\n')}
    esac
`
}${
  deepverbs.length === 0
    ? ''
    : `  elif (( CURRENT == 5 )); then
    case "\${words[2]} \${words[3]} \${words[4]}" in
${deepverbs.map(([path, list]) => `      "${path}") candidates=(${list}) ;;`).join('\n')}
    esac
`
}  fi
${
  deepOptions.length === 0
    ? ''
    : `  if (( \${#candidates} == 0 && CURRENT > 5 )); then
    case "\${words[2]} \${words[3]} \${words[4]} \${words[5]}" in
${deepOptions.map(([path, list]) => `      "${path}") candidates=(${list}) ;;`).join('\n')}
    esac
  fi
`
}${
  subOptions.length === 0
    ? ''
    : `  if (( \${#candidates} == 0 )); then
    case "\${words[2]} \${words[3]} \${words[4]}" in
${subOptions.map(([path, list]) => `      "${path}") candidates=(${list}) ;;`).join('\n')}
    esac
  fi
`
}  if (( \${#candidates} == 0 )); then
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

/**
 * An option's value (`--scope namespaces:re`), read from the line itself: bash splits words at
 * ":" (COMP_WORDBREAKS), which the scope names contain. A comma-separated list completes its
 * last item; the reply drops what bash already treats as a separate word (up to the last ":").
 */
function bashValues(
  values: ReadonlyArray<readonly [string, string]>,
  subValues: ReadonlyArray<readonly [string, string]> = [],
  deepValues: ReadonlyArray<readonly [string, string]> = [],
): string {
  return `  local line="\${COMP_LINE:0:COMP_POINT}"
  local current="\${line##*[[:space:]]}"
  local before="\${line%"$current"}"
  before="\${before%"\${before##*[![:space:]]}"}"
${
  deepValues.length === 0
    ? ''
    : `  case "\${COMP_WORDS[1]} \${COMP_WORDS[2]} \${COMP_WORDS[3]} \${COMP_WORDS[4]} \${before##*[[:space:]]}" in
${deepValues.map(([path, list]) => `    "${path}") words="${list}" ;;`).join('\n')}
  esac
`
}${
  subValues.length === 0
    ? ''
    : `  case "\${COMP_WORDS[1]} \${COMP_WORDS[2]} \${COMP_WORDS[3]} \${before##*[[:space:]]}" in
${subValues.map(([path, list]) => `    "${path}") words="${list}" ;;`).join('\n')}
  esac
`
}  case "\${COMP_WORDS[1]} \${COMP_WORDS[2]} \${before##*[[:space:]]}" in
${values.map(([path, list]) => `    "${path}") words="${list}" ;;`).join('\n')}
  esac
  if [ -n "$words" ]; then
    local item="\${current##*,}"
    local broken="\${current%"\${current##*[:=]}"}"
    COMPREPLY=($(compgen -W "$words" -P "\${current%"$item"}" -- "$item"))
    COMPREPLY=("\${COMPREPLY[@]#"$broken"}")
    return
  fi
`;
}

/** The same in zsh: after an option with values, complete the last item of a comma-separated list. */
function zshValues(
  values: ReadonlyArray<readonly [string, string]>,
  subValues: ReadonlyArray<readonly [string, string]> = [],
  deepValues: ReadonlyArray<readonly [string, string]> = [],
): string {
  return `${
    deepValues.length === 0
      ? ''
      : `  case "\${words[2]} \${words[3]} \${words[4]} \${words[5]} \${words[CURRENT-1]}" in
${deepValues.map(([path, list]) => `    "${path}") candidates=(${list}) ;;`).join('\n')}
  esac
`
  }${
    subValues.length === 0
      ? ''
      : `  case "\${words[2]} \${words[3]} \${words[4]} \${words[CURRENT-1]}" in
${subValues.map(([path, list]) => `    "${path}") candidates=(${list}) ;;`).join('\n')}
  esac
`
  }  case "\${words[2]} \${words[3]} \${words[CURRENT-1]}" in
${values.map(([path, list]) => `    "${path}") candidates=(${list}) ;;`).join('\n')}
  esac
  if (( \${#candidates} > 0 )); then
    compset -P '*,'
    compadd -- \${candidates[@]}
    return
  fi
`;
}
