/**
 * A person's decisions: shown only with an API token in this tab. Abort, and a promote that
 * overrides the analysis, ask first; the daemon's refusals are shown as it words them.
 */
import { useState } from 'preact/hooks';
import { act, ACTIONS, userName, type Action, type DeploymentStatusView } from './api.js';
import { promoteOverrides } from './format.js';

function warning(action: Action, d: DeploymentStatusView): string | undefined {
  if (action === 'abort') return `Abort ${d.job} v${d.version}? This fails the deployment in Nomad and rolls back per the policy.`;
  if (action === 'promote' && promoteOverrides(d)) return `Promote ${d.job} v${d.version} now? The policy does not promote it yet: this overrides the analysis.`;
  return undefined;
}

export function Actions({ d, apiToken }: { d: DeploymentStatusView; apiToken: string }) {
  const [asking, setAsking] = useState<{ action: Action; text: string } | undefined>();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | undefined>();

  async function run(action: Action) {
    setAsking(undefined);
    setBusy(true);
    setResult(undefined);
    try {
      await act(d.id, action, apiToken, reason, userName.get());
      setResult({ ok: true, text: `${action}: accepted` });
      setReason('');
    } catch (err) {
      setResult({ ok: false, text: `${action} refused: ${err instanceof Error ? err.message : String(err)}` });
    } finally {
      setBusy(false);
    }
  }

  function click(action: Action) {
    const text = warning(action, d);
    if (text) setAsking({ action, text });
    else void run(action);
  }

  return (
    <section class="actions">
      <div class="buttons">
        {ACTIONS.map((a) => (
          <button key={a} type="button" class={`action action-${a}`} data-action={a} disabled={busy} onClick={() => click(a)}>
            {a}
          </button>
        ))}
        <input class="reason" placeholder="reason (optional)" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      </div>
      {asking && (
        <div class="confirm" role="alertdialog" aria-label={`confirm ${asking.action}`}>
          <p>{asking.text}</p>
          <button type="button" class="danger" data-confirm={asking.action} onClick={() => void run(asking.action)}>
            Yes, {asking.action}
          </button>
          <button type="button" onClick={() => setAsking(undefined)}>
            Cancel
          </button>
        </div>
      )}
      {result && (
        <p class={result.ok ? 'result ok' : 'result error'} role="status">
          {result.text}
        </p>
      )}
    </section>
  );
}
