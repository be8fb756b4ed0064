/**
 * Filtering and pagination of list endpoints, like Nomad's paginator: the filter runs on each
 * object, pages hold `per_page` matching objects, and the next page's token is that of the first
 * matching object left (`<CreateIndex>.<ID>`, or `<ID>` when listing by prefix).
 */
import { FilterEvalError, evaluateFilter, parseFilter } from '../bexpr.js';
import type { Expr } from '../bexpr.js';
import { ApiError } from '../model/errors.js';

export function compileFilter(src: string): Expr | null {
  if (src === '') return null;
  try {
    return parseFilter(src);
  } catch (e) {
    throw new ApiError(400, `failed to create result paginator: failed to read filter expression: ${(e as Error).message}`);
  }
}

export function filterMatches(expr: Expr | null, datum: unknown): boolean {
  if (!expr) return true;
  try {
    return evaluateFilter(expr, datum);
  } catch (e) {
    if (e instanceof FilterEvalError) throw new ApiError(400, `failed to read result page: ${e.message}`);
    throw e;
  }
}

export interface Tokenizer<T> {
  token(item: T): string;
  /** <0 when the item sorts before the token, 0 when equal, >0 after (ascending order). */
  compare(item: T, token: string): number;
}

export function createIndexTokenizer<T extends { CreateIndex: number; ID: string }>(): Tokenizer<T> {
  return {
    token: (i) => `${i.CreateIndex}.${i.ID}`,
    compare: (i, token) => {
      const dot = token.indexOf('.');
      const index = Number(dot < 0 ? token : token.slice(0, dot)) || 0;
      const id = dot < 0 ? '' : token.slice(dot + 1);
      return i.CreateIndex !== index ? i.CreateIndex - index : i.ID.localeCompare(id);
    },
  };
}

export function idTokenizer<T extends { ID: string }>(): Tokenizer<T> {
  return { token: (i) => i.ID, compare: (i, token) => (i.ID < token ? -1 : i.ID > token ? 1 : 0) };
}

export interface PageOptions {
  perPage: number;
  nextToken: string;
  reverse: boolean;
}

/**
 * Sorts and pages a table the way Nomad's list endpoints iterate it: with a `prefix`, the ID
 * index (ordered by ID, next token `<ID>`); without, the create index (CreateIndex then ID,
 * next token `<CreateIndex>.<ID>`). Deployments and allocations both list this way.
 */
export function pageInListOrder<T extends { CreateIndex: number; ID: string }>(
  items: T[],
  q: PageOptions & { prefix: string },
  matches: (item: T) => boolean,
): { page: T[]; nextToken: string } {
  const byId = q.prefix !== '';
  const tokenizer = byId ? idTokenizer<T>() : createIndexTokenizer<T>();
  const sorted = [...items].sort(byId ? (a, b) => tokenizer.compare(a, b.ID) : (a, b) => a.CreateIndex - b.CreateIndex || a.ID.localeCompare(b.ID));
  return paginate(sorted, q, tokenizer, matches);
}

/** `items` must already be sorted ascending by the tokenizer's order. */
export function paginate<T>(items: T[], opts: PageOptions, tokenizer: Tokenizer<T>, matches: (item: T) => boolean): { page: T[]; nextToken: string } {
  const ordered = opts.reverse ? [...items].reverse() : items;
  const page: T[] = [];
  for (const item of ordered) {
    if (opts.nextToken !== '') {
      const cmp = tokenizer.compare(item, opts.nextToken);
      if (opts.reverse ? cmp > 0 : cmp < 0) continue;
    }
    if (!matches(item)) continue;
    if (opts.perPage > 0 && page.length === opts.perPage) return { page, nextToken: tokenizer.token(item) };
    page.push(item);
  }
  return { page, nextToken: '' };
}
