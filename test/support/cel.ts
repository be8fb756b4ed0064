/** The policy module's own CEL, bound as the measurer binds it, for tests that take a measurement. */
import type { Evaluate } from '../../src/analysis/measure.js';
import { compileCondition, evaluateCondition, type CelProvider } from '../../src/policy/cel.js';

export function celFor(provider: CelProvider): Evaluate {
  return (expr, vars) => {
    const compiled = compileCondition(expr, { provider, scope: 'deployment' });
    return compiled.ok ? evaluateCondition(compiled.condition, vars) : { ok: false, error: compiled.error };
  };
}
