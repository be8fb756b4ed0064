/**
 * One deployment: its groups, what happens next and when, each check's measurements against its
 * thresholds, the decision history and the explain text. Re-read whenever the stream reports a
 * change of this deployment (never on a timer).
 */
import { useEffect, useState } from 'preact/hooks';
import { fetchDetail, type DeploymentDetailView, type DeploymentStatusView } from './api.js';
import { Actions } from './actions.js';
import { Chart } from './chart.js';
import { clock, span, value } from './format.js';
import { Group } from './overview.js';
import { Badge } from './state-badge.js';

export function Detail({ id, live, connected, now, apiToken }: { id: string; live: DeploymentStatusView | undefined; connected: boolean; now: number; apiToken: string | undefined }) {
  const [data, setData] = useState<{ detail: DeploymentDetailView; explain: string } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const version = live?.updatedAt;

  useEffect(() => {
    let current = true;
    fetchDetail(id).then(
      (d) => current && (setData(d), setError(undefined)),
      (err: unknown) => current && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      current = false;
    };
  }, [id, version]);

  if (error && !data) return <p class="result error">Deployment {id}: {error}</p>;
  if (!data) return <p class="muted">Loading {id}…</p>;
  const d = { ...data.detail, ...(live ?? {}) };
  const checkOf = (group: string, stage: string, check: string) => d.groups[group]?.checks.find((c) => c.stage === stage && c.check === check);

  return (
    <article class="detail" data-deployment={d.id}>
      <header class="detail-head">
        <a href="#/">← all deployments</a>
        <h2>
          {d.job} <span class="meta">v{d.version} · {d.namespace}</span> <Badge state={d.state} />
        </h2>
        <p class="meta">
          {d.id} · Nomad: {d.status}
          {d.createdAt ? ` · ${span(now - Date.parse(d.createdAt))} old` : ''}
        </p>
        {!live && connected && <p class="result error">No longer tracked by the promoter.</p>}
      </header>
      {apiToken && live && <Actions d={live} apiToken={apiToken} />}
      {Object.entries(d.groups).map(([name, g]) => (
        <Group key={name} name={name} g={g} now={now} />
      ))}

      <section>
        <h3>Next</h3>
        {d.pending.length === 0 && <p class="muted">Nothing pending.</p>}
        <ul class="pending">
          {d.pending.map((p, i) => (
            <li key={i}>
              <strong>{p.action}</strong> {p.groups.join(', ')}: {p.reason}
              {p.causes?.map((c) => (
                <div key={c.check} class="muted">
                  {c.group} {c.stage}:{c.check} {c.state} {value(c.lastValue)} {c.lastMessage ?? ''}
                </div>
              ))}
            </li>
          ))}
        </ul>
        {d.nextAt && (
          <p class="muted">
            Looks again at {clock(d.nextAt)} (in {span(Date.parse(d.nextAt) - now)}).
          </p>
        )}
        {d.warnings.map((w) => (
          <p key={w} class="result error">
            {w}
          </p>
        ))}
      </section>

      <section>
        <h3>Checks</h3>
        {d.series.length === 0 && <p class="muted">No measurements yet.</p>}
        {d.series.map((s) => {
          const c = checkOf(s.group, s.stage, s.check);
          return (
            <figure key={`${s.group}:${s.stage}:${s.check}`} class="series-box" data-series={s.check}>
              <figcaption>
                {s.group} · {s.stage}:{s.check} {c && <Badge state={c.state} />} <code>pass: {c?.pass ?? '–'}</code> {c?.fail && <code>fail: {c.fail}</code>}
              </figcaption>
              <Chart series={s} check={c} />
            </figure>
          );
        })}
      </section>

      <section>
        <h3>Decisions</h3>
        {d.history.length === 0 && <p class="muted">No decisions yet.</p>}
        <ol class="timeline">
          {d.history.map((h, i) => (
            <li key={i} class={`entry source-${h.source} outcome-${h.outcome}`} data-action={h.action}>
              <time dateTime={h.at}>{clock(h.at)}</time>
              <div>
                <strong>{h.action}</strong> {h.groups.join(', ')} · {h.outcome} · <span class="source">{h.source}{h.who ? ` (${h.who})` : ''}</span>
                <div>{h.reason}</div>
                {h.message && <div class="muted">{h.message}</div>}
                {h.evidence.length > 0 && (
                  <div class="evidence">
                    {h.evidence.map((m, j) => (
                      <span key={j} class={`result-${m.result}`}>
                        {m.check} {value(m.value)} {m.result}
                      </span>
                    ))}
                  </div>
                )}
              </div>
            </li>
          ))}
        </ol>
      </section>

      <section>
        <h3>Explain</h3>
        <pre class="explain">{data.explain}</pre>
      </section>
    </article>
  );
}
