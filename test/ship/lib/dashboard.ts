/** Reads the PromQL a Grafana dashboard runs: panel targets, nested rows, variable queries. */
import { variableQueryExprs } from './promql.js';
import { isPlainObject as isObject } from './values.js';

export interface DashboardQuery {
  where: string;
  expr: string;
}

export function dashboardQueries(dashboard: unknown): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => walk(n, `${where}[${i}]`));
      return;
    }
    if (!isObject(node)) return;
    const label = typeof node.title === 'string' ? `${where} "${node.title}"` : where;
    if (typeof node.expr === 'string') out.push({ where: label, expr: node.expr });
    for (const [k, v] of Object.entries(node)) walk(v, `${label}.${k}`);
  };
  if (isObject(dashboard)) {
    for (const [k, v] of Object.entries(dashboard)) if (k !== 'templating') walk(v, `dashboard.${k}`);
  }
  const templating = isObject(dashboard) && isObject(dashboard.templating) ? dashboard.templating.list : [];
  for (const v of Array.isArray(templating) ? templating : []) {
    if (!isObject(v) || v.type !== 'query') continue;
    const q = isObject(v.query) ? v.query.query : v.query;
    if (typeof q !== 'string') continue;
    for (const expr of variableQueryExprs(q)) out.push({ where: `variable $${String(v.name)}`, expr });
  }
  return out;
}

/** Every object in the dashboard that names a data source, with where it sits. */
export function datasourceRefs(dashboard: unknown): { where: string; uid: unknown }[] {
  const out: { where: string; uid: unknown }[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
    if (!isObject(node)) return;
    if (isObject(node.datasource)) out.push({ where, uid: node.datasource.uid });
    for (const [k, v] of Object.entries(node)) if (k !== 'annotations') walk(v, `${where}.${k}`);
  };
  walk(dashboard, 'dashboard');
  return out;
}
