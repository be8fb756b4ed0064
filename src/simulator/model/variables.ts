/**
 * Nomad Variables in the state store: set, check-and-set and delete with the outcomes of Nomad's
 * state_store_variables.go, and the validation of structs.VariableDecrypted.Validate (whose
 * errors Nomad's RPC layer codes as 400s: `RPC Error:: 400,<msg>`).
 */
import { ApiError } from './errors.js';
import { jobKey, type StateStore } from './store.js';
import type { SimVariable } from './types.js';

/** Nomad's maxVariableSize: the summed length of keys and values (bytes). */
export const MAX_VARIABLE_SIZE = 65536;
const VALID_PATH = /^[a-zA-Z0-9\-_~/]{1,128}$/;

export type VariableOutcome =
  | { kind: 'ok'; index: number; variable: SimVariable | null }
  /** `current` is null when the variable does not exist (Nomad answers a zero-valued one). */
  | { kind: 'conflict'; current: SimVariable | null };

export function getVariable(store: StateStore, namespace: string, path: string): SimVariable | undefined {
  return store.variables.get(jobKey(namespace, path));
}

/** A failed VariableDecrypted.Validate as Nomad's HTTP agent answers it (the coded RPC error's text). */
function invalid(message: string): ApiError {
  return new ApiError(400, `RPC Error:: 400,${message}`);
}

/** Nomad's validatePath, plus (a simplification) no empty segment: no leading, trailing or double slash. */
export function validateVariablePath(path: string): void {
  if (path.length === 0) throw invalid('variable requires path');
  if (!VALID_PATH.test(path) || path.split('/').includes('')) throw invalid(`invalid path ${JSON.stringify(path)}`);
  const parts = path.split('/');
  if (parts[0] !== 'nomad') return;
  if (parts.length === 1) {
    throw invalid(
      '"nomad" is a reserved top-level directory path, but you may write variables to "nomad/jobs", "nomad/job-templates", or below',
    );
  }
  if (parts[1] === 'jobs') return;
  if (parts[1] === 'job-templates' && parts.length === 3) return;
  if (parts[1] === 'job-templates') {
    throw invalid(
      '"nomad/job-templates" is a reserved directory path, but you may write variables at the level below it, for example, "nomad/job-templates/template-name"',
    );
  }
  throw invalid('only paths at "nomad/jobs" or "nomad/job-templates" and below are valid paths under the top-level "nomad" directory');
}

/** VariableDecrypted.Validate, in Nomad's order. */
export function validateVariable(namespace: string, path: string, items: Record<string, string>, allowEmpty = false): void {
  if (namespace === '*') throw invalid('can not target wildcard ("*")namespace');
  const keys = Object.keys(items);
  // A lock may be taken on a variable without items.
  if (keys.length === 0 && !allowEmpty) throw invalid('empty variables are invalid');
  let size = 0;
  for (const k of keys) size += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(items[k] as string, 'utf8');
  if (size > MAX_VARIABLE_SIZE) throw invalid('variables are limited to 64KiB in total size');
  validateVariablePath(path);
}

/** Upsert; with `cas` (0 = only if absent) a check-and-set against the ModifyIndex. */
/** The variable as a write at `txn` leaves it: creation kept from `existing`, modification now. */
export function writtenVariable(
  existing: SimVariable | undefined,
  v: { namespace: string; path: string; items: Record<string, string> },
  txn: { index: number; now: number },
  lock: SimVariable['Lock'],
): SimVariable {
  const nanos = Math.round(txn.now * 1e6);
  return {
    Namespace: v.namespace,
    Path: v.path,
    CreateIndex: existing?.CreateIndex ?? txn.index,
    CreateTime: existing?.CreateTime ?? nanos,
    ModifyIndex: txn.index,
    ModifyTime: nanos,
    Items: { ...v.items },
    ...(lock ? { Lock: lock } : {}),
  };
}

export function setVariable(
  store: StateStore,
  now: number,
  v: { namespace: string; path: string; items: Record<string, string> },
  cas?: number,
): VariableOutcome {
  return store.write(now, (txn): VariableOutcome => {
    const key = jobKey(v.namespace, v.path);
    const existing = store.variables.get(key);
    if (cas !== undefined) {
      if (cas === 0 && existing) return { kind: 'conflict', current: existing };
      if (cas !== 0 && !existing) return { kind: 'conflict', current: null };
      if (existing && existing.ModifyIndex !== cas) return { kind: 'conflict', current: existing };
    }
    const variable = writtenVariable(existing, v, txn, existing?.Lock);
    store.variables.set(key, variable);
    txn.touch('variables');
    return { kind: 'ok', index: txn.index, variable };
  });
}

/** Delete; a missing variable is no error (nothing is written). With `cas`, as Nomad's delete-cas. */
export function deleteVariable(store: StateStore, now: number, namespace: string, path: string, cas?: number): VariableOutcome {
  return store.write(now, (txn): VariableOutcome => {
    const key = jobKey(namespace, path);
    const existing = store.variables.get(key);
    if (cas !== undefined) {
      if (cas !== 0 && !existing) return { kind: 'conflict', current: null };
      if (cas === 0 && existing) return { kind: 'conflict', current: existing };
      if (existing && existing.ModifyIndex !== cas) return { kind: 'conflict', current: existing };
    }
    if (!existing) return { kind: 'ok', index: store.latestIndex(), variable: null };
    store.variables.delete(key);
    txn.touch('variables');
    return { kind: 'ok', index: txn.index, variable: null };
  });
}
