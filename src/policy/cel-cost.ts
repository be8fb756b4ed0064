/**
 * Bounding what one CEL condition may cost, so that no expression stalls the daemon (its checks,
 * reconciles and `/healthz` share one thread). The work of an expression grows with its size
 * times the length of the lists it iterates, to the power of how deeply its comprehensions
 * (`all`, `exists`, `exists_one`, `map`, `filter`) nest. At load, an expression over the size or
 * nesting limit is rejected; before each evaluation, the estimate for the actual input is
 * compared with a budget, and an expression over it is not run.
 */

/** Nodes of a parsed expression at most (the library rejects more at parse time). */
export const MAX_EXPRESSION_NODES = 1000;
/** Comprehensions nested in one another at most. */
export const MAX_COMPREHENSION_DEPTH = 3;
/** Estimated evaluation steps at most: a few hundred milliseconds of work. */
export const MAX_EVALUATION_STEPS = 10_000_000;

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

interface AstNode {
  op: string;
  args: unknown;
  start?: number;
}

export interface ExpressionShape {
  nodes: number;
  /** Deepest nesting of comprehensions. */
  depth: number;
  /** Where the deepest comprehension starts (an offset in the expression). */
  deepestAt?: number;
}

function isAstNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && typeof (v as AstNode).op === 'string';
}

/** Size and comprehension nesting of a parsed expression (the library's AST). */
export function shapeOf(ast: unknown): ExpressionShape {
  const shape: ExpressionShape = { nodes: 0, depth: 0 };
  const visit = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth);
      return;
    }
    if (!isAstNode(v)) return;
    shape.nodes++;
    const args = Array.isArray(v.args) ? v.args : [v.args];
    if (v.op !== 'rcall' || !COMPREHENSIONS.has(String(args[0]))) {
      visit(args, depth);
      return;
    }
    // `list.all(x, body)`: the list is evaluated once, the body once per item.
    const inner = depth + 1;
    if (inner > shape.depth) {
      shape.depth = inner;
      shape.deepestAt = v.start;
    }
    visit(args[1], depth);
    visit(args.slice(2), inner);
  };
  visit(ast, 0);
  return shape;
}

/** The length of the longest list (or largest map) anywhere in `value`. */
export function largestCollection(value: unknown): number {
  let largest = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    const items = Array.isArray(v) ? v : Object.values(v);
    largest = Math.max(largest, items.length);
    stack.push(...items);
  }
  return largest;
}

/** Estimated evaluation steps of an expression of `shape` on input whose longest list is `n` long. */
export function estimatedSteps(shape: ExpressionShape, n: number): number {
  return shape.nodes * Math.max(1, n) ** shape.depth;
}
