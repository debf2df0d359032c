/** A token state as a badge whose text says it; colour only repeats it. */
import type { TokenState } from '@latchkey/contract';
import { STATE_LABELS } from '../token-state.js';

export function StateBadge({ state }: { state: TokenState }) {
  return <span className={`badge badge-${state}`}>{STATE_LABELS[state]}</span>;
}
