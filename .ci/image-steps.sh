#!/usr/bin/env bash
# Rehearses the Dockerfile's build without a Docker engine (none runs on CI machines), then runs
# the assembled image layout as the image's non-root user.
#
# Each step below ends in a comment that quotes, after "Dockerfile:", the Dockerfile line it
# mirrors; test/ship/dockerfile.test.ts fails when a quoted line no longer exists in the Dockerfile or a
# RUN/COPY line of the Dockerfile has no mirror here. Keep them in step.
#
# Layout: $WORK/context (build context after .dockerignore), $WORK/stages/<stage>/ (each build
# stage's filesystem root), $WORK/rootfs/ (the final image's filesystem root).
# Usage: .ci/image-steps.sh            (KEEP=1 keeps $WORK for inspection)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_UID=65532   # Dockerfile: USER 65532:65532
RUN_GID=65532

WORK=$(mktemp -d /tmp/nomad-promoter-image.XXXXXX)
chmod 755 "$WORK"   # the non-root user must reach the layout
stub_pid=""
daemon_pid=""
cleanup() {
  # Only the processes this script started, by their id.
  [[ -z "$daemon_pid" ]] || kill "$daemon_pid" 2>/dev/null || true
  [[ -z "$stub_pid" ]] || kill "$stub_pid" 2>/dev/null || true
  if [[ "${KEEP:-}" == 1 ]]; then echo "image-steps: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { printf '\n== image-steps: %s\n' "$*"; }
fail() { printf 'image-steps: FAILED: %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || fail "run as root: the layout is made root-owned and run as uid $RUN_UID"
node_major=$(node -p 'process.versions.node.split(".")[0]')
image_major=$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9]*\)-.*/\1/p' "$repo/Dockerfile")
[[ "$node_major" == "$image_major" ]] || echo "image-steps: warning: node $node_major here, the image uses Node.js $image_major"

# --- build context ------------------------------------------------------------------------
step "copy the build context, honouring .dockerignore"
# Docker's rules: patterns relative to the context root, `*` `?` `[...]` within one path
# segment, `**` across segments, `!` re-includes, the last matching pattern wins, and a pattern
# that matches a directory excludes everything below it.
cat >"$WORK/copy-context.mjs" <<'JS'
import fs from 'node:fs';
import path from 'node:path';
const [src, dst] = process.argv.slice(2);
const rules = fs.existsSync(path.join(src, '.dockerignore'))
  ? fs.readFileSync(path.join(src, '.dockerignore'), 'utf8').split('\n')
      .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
      .map((l) => {
        const negate = l.startsWith('!');
        const p = path.posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
        let re = '';
        for (let i = 0; i < p.length; i++) {
          const c = p[i];
          if (c === '*' && p[i + 1] === '*') { re += '.*'; i++; if (p[i + 1] === '/') { re = re.slice(0, -2) + '(?:.*/)?'; i++; } }
          else if (c === '*') re += '[^/]*';
          else if (c === '?') re += '[^/]';
          else if (c === '[') { const j = p.indexOf(']', i); re += p.slice(i, j + 1).replace('[!', '[^'); i = j; }
          else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
        }
        return { negate, re: new RegExp(`^${re}$`) };
      })
  : [];
const hasExceptions = rules.some((r) => r.negate);
function excluded(rel) {
  const parts = rel.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let out = false;
  for (const r of rules) if (candidates.some((c) => r.re.test(c))) out = !r.negate;
  return out;
}
fs.cpSync(src, dst, {
  recursive: true,
  verbatimSymlinks: true,
  filter: (p) => {
    const rel = path.relative(src, p).split(path.sep).join('/');
    if (rel === '') return true;
    if (!excluded(rel)) return true;
    // An excluded directory may still hold a re-included file: descend, and let files decide.
    return hasExceptions && fs.lstatSync(p).isDirectory();
  },
});
JS
node "$WORK/copy-context.mjs" "$repo" "$WORK/context"
[[ -f "$WORK/context/package-lock.json" ]] || fail "package-lock.json missing from the build context"

# --- stage build --------------------------------------------------------------------------
B="$WORK/stages/build/app"                                   # Dockerfile: WORKDIR /app
mkdir -p "$B"
step "stage build"
cp "$WORK/context/package.json" "$WORK/context/package-lock.json" "$B/"   # Dockerfile: COPY package.json package-lock.json ./
(cd "$B" && npm ci --ignore-scripts --no-audit --no-fund)                  # Dockerfile: RUN npm ci --ignore-scripts
cp -a "$WORK/context/." "$B/"                                             # Dockerfile: COPY . .
(cd "$B" && npm run build)                                                # Dockerfile: RUN npm run build

# --- stage prod-deps ----------------------------------------------------------------------
P="$WORK/stages/prod-deps"
mkdir -p "$P/app"
step "stage prod-deps"
cp "$WORK/context/package.json" "$WORK/context/package-lock.json" "$P/app/"   # Dockerfile: COPY package.json package-lock.json ./
# The Dockerfile also runs `npm cache clean --force` to slim its layer; here that would wipe
# this machine's npm cache, so it is left out.
(cd "$P/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)      # Dockerfile: RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
mkdir -p "$P/out/etc/nomad-promoter/policies"                                 # Dockerfile: RUN mkdir -p /out/etc/nomad-promoter/policies

# --- final image --------------------------------------------------------------------------
R="$WORK/rootfs"
A="$R/app"                                                                    # Dockerfile: WORKDIR /app
mkdir -p "$A"
step "final layout"
cp -a "$P/app/node_modules" "$A/node_modules"                                 # Dockerfile: COPY --from=prod-deps /app/node_modules ./node_modules
cp -a "$B/package.json" "$A/package.json"                                     # Dockerfile: COPY --from=build /app/package.json ./package.json
cp -a "$B/bin" "$A/bin"                                                       # Dockerfile: COPY --from=build /app/bin ./bin
cp -a "$B/dist" "$A/dist"                                                     # Dockerfile: COPY --from=build /app/dist ./dist
mkdir -p "$A/examples" && cp -a "$B/examples/policies" "$A/examples/policies"   # Dockerfile: COPY --from=build /app/examples/policies ./examples/policies
mkdir -p "$R/etc" && cp -a "$P/out/etc/nomad-promoter" "$R/etc/nomad-promoter"   # Dockerfile: COPY --from=prod-deps /out/etc/nomad-promoter /etc/nomad-promoter
# COPY without --chown gives root-owned files; the runtime user may read, never write.
chown -R 0:0 "$R"
chmod -R u+rwX,go+rX,go-w "$R"

# Tools that only the build needs must not reach the image.
for dev in typescript jest @swc/core @types/node; do
  [[ ! -e "$A/node_modules/$dev" ]] || fail "development dependency $dev in the final layout"
done
[[ -f "$A/dist/cli.js" ]] || fail "dist/cli.js was not built"
echo "final layout: $(du -sh "$R" | cut -f1) in $R"

# --- run as the image runs ----------------------------------------------------------------
# The image's user (USER 65532:65532), its ENV, working directory /app, and no writable path but
# a private TMPDIR (the tmpfs at /tmp): the layout is root-owned, so any write outside TMPDIR
# fails here as it would on a read-only root filesystem. HOME points nowhere writable.
mkdir -p "$WORK/tmp" && chown "$RUN_UID:$RUN_GID" "$WORK/tmp" && chmod 700 "$WORK/tmp"
# Commands, not functions, so that a background run's $! is the node process itself.
as_image_user=(setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups --no-new-privs
  env -i -C "$A" PATH=/usr/local/bin:/usr/bin:/bin HOME=/nonexistent TMPDIR="$WORK/tmp"
  NODE_ENV=production PROMOTER_LISTEN=0.0.0.0:9646 PROMOTER_POLICIES="$R/etc/nomad-promoter/policies")
entrypoint=(node "$A/bin/nomad-promoter")   # Dockerfile: ENTRYPOINT ["/nodejs/bin/node", "/app/bin/nomad-promoter"]

step "nomad-promoter --help (uid $RUN_UID)"
help_out=$("${as_image_user[@]}" "${entrypoint[@]}" --help) || fail "nomad-promoter --help exited $?"
printf '%s\n' "$help_out"
grep -q 'run' <<<"$help_out" || fail "--help does not mention the run command"

step "nomad-promoter validate examples/policies/ (uid $RUN_UID)"
"${as_image_user[@]}" "${entrypoint[@]}" validate examples/policies/ || fail "nomad-promoter validate examples/policies/ exited $?"

# --- the daemon as the image runs it ----------------------------------------------------------
step "nomad-promoter run (uid $RUN_UID) against a stub Nomad: HEALTHCHECK, /readyz, SIGTERM"
# The stub answers the reads a client makes at start (leader, agent, regions, namespaces) and
# every list with an empty list at index 1: enough for the watcher's first full list, after
# which the daemon is ready. Anything else is a 404, as Nomad answers an unknown object.
cat >"$WORK/stub-nomad.mjs" <<'JS'
import http from 'node:http';
const fixed = {
  '/v1/status/leader': '"127.0.0.1:4647"',
  '/v1/agent/self': '{"config":{"Region":"global","Datacenter":"dc1"},"member":{"Name":"stub"}}',
  '/v1/regions': '["global"]',
  '/v1/namespaces': '[{"Name":"default"}]',
};
const lists = new Set(['/v1/deployments', '/v1/allocations', '/v1/jobs', '/v1/evaluations', '/v1/nodes']);
const server = http.createServer((req, res) => {
  const route = new URL(req.url ?? '/', 'http://stub').pathname;
  const headers = { 'x-nomad-index': '1', 'x-nomad-knownleader': 'true', 'x-nomad-lastcontact': '0' };
  const body = fixed[route] ?? (lists.has(route) ? '[]' : undefined);
  if (body === undefined) {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end('not found');
    return;
  }
  res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(body);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
JS
node "$WORK/stub-nomad.mjs" >"$WORK/stub-port" &
stub_pid=$!
for _ in $(seq 50); do [[ -s "$WORK/stub-port" ]] && break; sleep 0.1; done
stub_port=$(cat "$WORK/stub-port")
[[ -n "$stub_port" ]] || fail "the stub Nomad did not start"

# Port 0, read back from the daemon's start-up log line. The image default PROMOTER_POLICIES
# (an empty directory) is in force: a daemon with no policy governs nothing.
"${as_image_user[@]}" "NOMAD_ADDR=http://127.0.0.1:$stub_port" "${entrypoint[@]}" run --listen 127.0.0.1:0 \
  >"$WORK/daemon.log" 2>&1 &
daemon_pid=$!
listen=""
for _ in $(seq 100); do
  listen=$(grep -o '"listen":"http://[^"]*"' "$WORK/daemon.log" | head -n 1 | sed 's/.*http:\/\///; s/"$//') || true
  [[ -n "$listen" ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$WORK/daemon.log"; fail "the daemon exited at start"; }
  sleep 0.1
done
[[ -n "$listen" ]] || { cat "$WORK/daemon.log"; fail "the daemon logged no listen address"; }

# The Dockerfile's own HEALTHCHECK script, as the container runtime would run it.
healthcheck=$(node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8").replace(/\\\n/g, " ");
  const m = /^HEALTHCHECK .*?CMD (\[.*\])\s*$/m.exec(text);
  if (!m) process.exit(1);
  console.log(JSON.parse(m[1])[2]);
' "$repo/Dockerfile") || fail "no HEALTHCHECK ... CMD [...] in the Dockerfile"
PROMOTER_LISTEN="$listen" node -e "$healthcheck" || fail "HEALTHCHECK failed against the running daemon ($listen)"
echo "HEALTHCHECK: ok ($listen)"

ready=""
for _ in $(seq 100); do
  ready=$(node -e 'fetch(process.argv[1]).then((r) => console.log(r.status), () => console.log("down"))' "http://$listen/readyz")
  [[ "$ready" == 200 ]] && break
  sleep 0.1
done
[[ "$ready" == 200 ]] || { cat "$WORK/daemon.log"; fail "/readyz answered $ready, not 200"; }
echo "/readyz: 200"

kill -TERM "$daemon_pid"   # Dockerfile: STOPSIGNAL SIGTERM
daemon_rc=0
wait "$daemon_pid" || daemon_rc=$?
daemon_pid=""
[[ "$daemon_rc" == 0 ]] || { cat "$WORK/daemon.log"; fail "the daemon exited $daemon_rc on SIGTERM, not 0"; }
echo "SIGTERM: exit 0"

step "done: the image layout builds with production dependencies only and runs as uid $RUN_UID"
