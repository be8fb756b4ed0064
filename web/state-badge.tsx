import { tone } from './format.js';

export function Badge({ state, hold }: { state: string; hold?: string | undefined }) {
  return (
    <span class={`badge tone-${tone(state)}`} data-state={state}>
      {state}
      {hold ? `: ${hold}` : ''}
    </span>
  );
}
