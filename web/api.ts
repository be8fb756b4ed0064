/**
 * The dashboard's only ways to the daemon: the live stream, one deployment's detail and explain
 * text, and the action API. Paths are relative, so the page also works behind a path prefix.
 */
import type { DeploymentDetailView, DeploymentStatusView } from '../src/server/status.js';

export type { DeploymentDetailView, DeploymentStatusView };

export const ACTIONS = ['promote', 'abort', 'retry', 'pause', 'resume'] as const;
export type Action = (typeof ACTIONS)[number];

export interface StreamHandlers {
  snapshot(deployments: DeploymentStatusView[], serverAt: number): void;
  deployment(d: DeploymentStatusView): void;
  removed(id: string): void;
  connected(up: boolean, serverAt?: number): void;
}

/** Subscribes to GET /v1/stream; the browser reconnects by itself (the stream sets `retry`). */
export function openStream(h: StreamHandlers): () => void {
  const source = new EventSource('v1/stream');
  const data = (e: Event) => JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
  source.addEventListener('snapshot', (e) => {
    const d = data(e) as { at: string; deployments: DeploymentStatusView[] };
    h.snapshot(d.deployments, Date.parse(d.at));
    h.connected(true, Date.parse(d.at));
  });
  source.addEventListener('deployment', (e) => h.deployment(data(e) as unknown as DeploymentStatusView));
  source.addEventListener('removed', (e) => h.removed(String(data(e).id)));
  source.addEventListener('heartbeat', (e) => h.connected(true, Date.parse(String(data(e).at))));
  source.addEventListener('error', () => h.connected(false));
  return () => source.close();
}

async function answer(res: Response): Promise<unknown> {
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) throw new Error(`${res.status}: ${(body as { error?: string } | undefined)?.error ?? res.statusText}`);
  return body;
}

export async function fetchDetail(id: string): Promise<{ detail: DeploymentDetailView; explain: string }> {
  const path = `v1/deployments/${encodeURIComponent(id)}`;
  const [detail, explain] = await Promise.all([
    fetch(path).then(answer),
    fetch(`${path}/explain`).then(async (res) => (res.ok ? res.text() : '')),
  ]);
  return { detail: detail as DeploymentDetailView, explain };
}

/**
 * A person's decision, in the name they gave (`who`); throws with the daemon's own error text
 * when it refuses. The name goes in the body rather than X-Promoter-User: a header cannot carry
 * every name (fetch refuses characters beyond Latin-1 there).
 */
export async function act(id: string, action: Action, token: string, reason: string, who: string | undefined): Promise<void> {
  const res = await fetch(`v1/deployments/${encodeURIComponent(id)}/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...(reason.trim() ? { reason: reason.trim() } : {}), ...(who?.trim() ? { who: who.trim() } : {}) }),
  });
  await answer(res);
}

/** A value kept in this tab's session storage only: gone when the tab closes. */
function sessionValue(key: string) {
  return {
    get: (): string | undefined => sessionStorage.getItem(key) ?? undefined,
    set: (value: string) => sessionStorage.setItem(key, value),
    clear: () => sessionStorage.removeItem(key),
  };
}

/** The API token, and the name the person acts under (the history's `who`). */
export const token = sessionValue('nomad-promoter.api-token');
export const userName = sessionValue('nomad-promoter.user');
