/** Every tracked deployment, one card each: groups, canaries, the running clock, checks. */
import type { DeploymentStatusView } from './api.js';
import { deadline, span, value, type GroupView } from './format.js';
import { Badge } from './state-badge.js';

export function Overview({ deployments, now }: { deployments: DeploymentStatusView[]; now: number }) {
  if (deployments.length === 0) return <p class="empty">No deployments tracked yet. They appear here as soon as Nomad starts one that a policy governs.</p>;
  return (
    <ul class="cards">
      {deployments.map((d) => (
        <li key={d.id} class="card" data-deployment={d.id} data-job={d.job} data-version={d.version}>
          <a class="card-head" href={`#/deployments/${encodeURIComponent(d.id)}`}>
            <span class="job">{d.job}</span>
            <span class="meta">
              {d.namespace} · v{d.version} · {d.id.slice(0, 8)}
              {d.createdAt ? ` · ${span(now - Date.parse(d.createdAt))} old` : ''}
            </span>
            <Badge state={d.state} />
          </a>
          {Object.entries(d.groups).map(([name, g]) => (
            <Group key={name} name={name} g={g} now={now} />
          ))}
        </li>
      ))}
    </ul>
  );
}

export function Group({ name, g, now }: { name: string; g: GroupView; now: number }) {
  const clock = !g.promoted ? deadline(g, now) : undefined;
  return (
    <div class="group" data-group={name}>
      <div class="group-line">
        <span class="group-name">{name}</span>
        <Badge state={g.state} hold={g.hold} />
        {g.canaries && (
          <span class="canaries" title="canaries healthy in Nomad, of those it wants">
            canaries {g.canaries.healthy}/{g.canaries.desired}
          </span>
        )}
        {clock && (
          <span class="deadline">
            {clock.label} {clock.left}
          </span>
        )}
        {g.mode === 'dry-run' && <span class="dry">dry-run</span>}
      </div>
      {g.checks.length > 0 && (
        <ul class="checks">
          {g.checks.map((c) => (
            <li key={`${c.stage}:${c.check}`} data-check={c.check} data-phase={c.state} title={c.lastMessage ?? ''}>
              <span class="check-name">
                {c.stage}:{c.check}
              </span>
              <Badge state={c.state} />
              <span class="check-value">{value(c.lastValue)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
