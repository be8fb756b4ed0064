/**
 * The dashboard: the overview at `#/`, one deployment at `#/deployments/<id>` (the route
 * notification links use). Kept current by GET /v1/stream; a one-second tick only redraws the
 * clocks, it asks the daemon nothing.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { openStream, token, userName, type DeploymentStatusView } from './api.js';
import { Detail } from './detail.js';
import { Overview } from './overview.js';

function routeOf(hash: string): { id?: string } {
  const m = /^#\/deployments\/(.+)$/.exec(hash);
  if (!m) return {};
  // A hand-edited link with a stray % must not blank the page: it shows the overview.
  try {
    return { id: decodeURIComponent(m[1]!) };
  } catch {
    return {};
  }
}

function TokenControl({ value, onChange }: { value: string | undefined; onChange: (t: string | undefined) => void }) {
  const [open, setOpen] = useState(false);
  if (value)
    return (
      <button type="button" class="link" onClick={() => (token.clear(), userName.clear(), onChange(undefined))}>
        forget API token
      </button>
    );
  if (!open)
    return (
      <button type="button" class="link" data-token-open onClick={() => setOpen(true)}>
        enter API token to act
      </button>
    );
  return (
    <form
      class="token"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget as HTMLFormElement;
        const input = form.elements.namedItem('token') as HTMLInputElement;
        const name = (form.elements.namedItem('who') as HTMLInputElement).value.trim();
        if (name) userName.set(name);
        if (input.value) token.set(input.value), onChange(input.value);
        input.value = '';
        setOpen(false);
      }}
    >
      <input name="token" type="password" autocomplete="off" placeholder="PROMOTER_API_TOKEN" aria-label="API token" />
      <input name="who" autocomplete="name" placeholder="your name" aria-label="your name, kept in the history" defaultValue={userName.get()} />
      <button type="submit">use</button>
    </form>
  );
}

function App() {
  const [deployments, setDeployments] = useState<Map<string, DeploymentStatusView>>(new Map());
  const [connected, setConnected] = useState(false);
  const [skew, setSkew] = useState(0);
  const [now, setNow] = useState(Date.now());
  const [route, setRoute] = useState(routeOf(location.hash));
  const [apiToken, setApiToken] = useState(token.get());

  useEffect(
    () =>
      openStream({
        snapshot: (list) => setDeployments(new Map(list.map((d) => [d.id, d]))),
        deployment: (d) => setDeployments((m) => new Map(m).set(d.id, d)),
        removed: (id) =>
          setDeployments((m) => {
            const next = new Map(m);
            next.delete(id);
            return next;
          }),
        // Countdowns run on the daemon's clock, whatever this machine's says.
        connected: (up, serverAt) => (setConnected(up), serverAt !== undefined && setSkew(serverAt - Date.now())),
      }),
    [],
  );
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 1000);
    const onHash = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => (clearInterval(tick), removeEventListener('hashchange', onHash));
  }, []);

  const list = [...deployments.values()].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  const serverNow = now + skew;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          nomad-promoter
        </a>
        <span class={connected ? 'live up' : 'live down'} data-live={connected ? 'up' : 'down'}>
          {connected ? 'live' : 'reconnecting…'}
        </span>
        <TokenControl value={apiToken} onChange={setApiToken} />
      </header>
      <main>{route.id ? <Detail id={route.id} live={deployments.get(route.id)} connected={connected} now={serverNow} apiToken={apiToken} /> : <Overview deployments={list} now={serverNow} />}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
