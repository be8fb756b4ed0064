/**
 * Command-line parsing only: each command hands its options to an app/ function.
 * Exit codes: 0 ok, 1 invalid input (policies, config), 2 usage error, 3 cannot reach or
 * authenticate to Nomad at start.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const EXIT = { ok: 0, invalid: 1, usage: 2, nomad: 3 } as const;

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals: boolean;
  run: (values: Record<string, string | boolean | undefined>, positionals: string[]) => Promise<number>;
}

const DAEMON_OPTIONS = `  --daemon URL             PROMOTER_DAEMON    the running daemon (default: http://127.0.0.1:9646)
                           PROMOTER_API_TOKEN bearer token for the daemon's API`;

const COMMANDS: Record<string, Command> = {
  run: {
    summary: 'the daemon: watch Nomad deployments, decide, act',
    usage: `Usage: nomad-promoter run [options]

Options (flag / environment; the flag wins):
  --policies DIR           PROMOTER_POLICIES         policy directory (default: policies)
  --listen HOST:PORT       PROMOTER_LISTEN           metrics, health and status (default: 127.0.0.1:9646)
  --dry-run                PROMOTER_DRY_RUN=true     decide and report, never write to Nomad
  --prometheus-addr URL    PROMOTER_PROMETHEUS_ADDR  default Prometheus for checks
  --external-url URL       PROMOTER_EXTERNAL_URL     the dashboard's address as people reach it, for links in notifications
  --namespace NS           NOMAD_NAMESPACE           namespace to watch (default: *, all readable)
  --log-level LEVEL        PROMOTER_LOG_LEVEL        fatal|error|warn|info|debug|trace|silent (default: info)
  --watch-wait DURATION                              blocking query wait (default: 5m)
  --watch-source SOURCE    PROMOTER_WATCH_SOURCE     stream|blocking|auto: Nomad's event stream, blocking queries, or
                                                     the stream falling back to blocking queries when refused (default: auto)
  --resync-interval DURATION                         reconcile every deployment at least this often (default: 5m)
  --max-response-size SIZE                           largest Nomad answer accepted after decompression, e.g. 64MiB (default: 256MiB)
  --state memory|nomad     PROMOTER_STATE            where decisions and measurements are kept: process
                                                     memory, or Nomad Variables to survive restarts (default: memory)
  --state-namespace NS     PROMOTER_STATE_NAMESPACE  namespace of those variables (default: --namespace, else default)
  --state-path PATH        PROMOTER_STATE_PATH       variable path prefix (default: nomad-promoter/deployments)
  --ha                     PROMOTER_HA=true          run as one of several replicas: only the holder of a leader lock
                                                     on a Nomad Variable writes; needs --state nomad (see docs/ha.md)
  --ha-lock-path PATH      PROMOTER_HA_LOCK_PATH     the lock variable (default: nomad-promoter/leader)
  --ha-lock-namespace NS   PROMOTER_HA_LOCK_NAMESPACE  its namespace (default: --state-namespace)
  --ha-lock-ttl DURATION   PROMOTER_HA_LOCK_TTL      lock TTL, 10s..24h; renewed every TTL/2 (default: 15s)
  --ha-lock-delay DURATION PROMOTER_HA_LOCK_DELAY    Nomad's wait after an expiry before another may lock (default: 15s)
  --ha-identity NAME       PROMOTER_HA_IDENTITY      this replica's name, shown by standbys (default: hostname-pid)

Nomad connection: NOMAD_ADDR (default http://127.0.0.1:4646), NOMAD_TOKEN, NOMAD_REGION,
NOMAD_CACERT, NOMAD_CAPATH, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME,
NOMAD_SKIP_VERIFY, NOMAD_HTTP_AUTH.
Policies reload when their files change and on SIGHUP. SIGTERM/SIGINT stop cleanly.`,
    options: {
      policies: { type: 'string' },
      listen: { type: 'string' },
      'dry-run': { type: 'boolean' },
      'prometheus-addr': { type: 'string' },
      'external-url': { type: 'string' },
      namespace: { type: 'string' },
      'log-level': { type: 'string' },
      'watch-wait': { type: 'string' },
      'watch-source': { type: 'string' },
      'resync-interval': { type: 'string' },
      'max-response-size': { type: 'string' },
      state: { type: 'string' },
      'state-namespace': { type: 'string' },
      'state-path': { type: 'string' },
      ha: { type: 'boolean' },
      'ha-lock-path': { type: 'string' },
      'ha-lock-namespace': { type: 'string' },
      'ha-lock-ttl': { type: 'string' },
      'ha-lock-delay': { type: 'string' },
      'ha-identity': { type: 'string' },
    },
    allowPositionals: false,
    run: async (values) => (await import('./app/run-command.js')).runCommand(values),
  },
  validate: {
    summary: 'check policy files or directories; print every error as file:line:col: message',
    usage: `Usage: nomad-promoter validate PATH...

Loads every policy file (.yaml, .yml) in the given files and directories and prints each
error as file:line:column: message. Exit 0 when valid, 1 when not.`,
    options: {},
    allowPositionals: true,
    run: async (_values, positionals) => {
      if (positionals.length === 0) throw new UsageError('validate needs at least one PATH');
      const { runValidate } = await import('./policy/validate-command.js');
      return runValidate(positionals, (line) => process.stdout.write(`${line}\n`));
    },
  },
  explain: {
    summary: 'show what the daemon would decide for one deployment, and why; never writes',
    usage: `Usage: nomad-promoter explain [options] DEPLOYMENT_ID

When the running daemon tracks the deployment: its own state and decision history. Otherwise
(saying so) a fresh evaluation: reads the live deployment from Nomad, picks each group's
policy, runs its checks once and prints the decision the daemon would take and why.
Never writes to Nomad. DEPLOYMENT_ID may be a unique prefix of 8 or more characters.

Options:
${DAEMON_OPTIONS}
  --policies DIR           PROMOTER_POLICIES         policy directory (default: policies)
  --prometheus-addr URL    PROMOTER_PROMETHEUS_ADDR  default Prometheus for checks
  --json                                             print JSON instead of text`,
    options: { daemon: { type: 'string' }, policies: { type: 'string' }, 'prometheus-addr': { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
    run: async (values, positionals) => {
      if (positionals.length !== 1) throw new UsageError('explain needs exactly one DEPLOYMENT_ID');
      const { explainCommand } = await import('./app/explain-command.js');
      return explainCommand(positionals[0]!, values);
    },
  },
  status: {
    summary: 'what the running daemon tracks; one deployment in detail with its history',
    usage: `Usage: nomad-promoter status [options] [DEPLOYMENT_ID]

Without an ID: a table of the deployments the running daemon tracks (deployment, job, group,
state, checks with last values, next step). With an ID (or a unique prefix of 8 or more
characters): that deployment in detail, with its decision history.

Options:
${DAEMON_OPTIONS}
  --watch                                  redraw every two seconds (Ctrl-C to stop)`,
    options: { daemon: { type: 'string' }, watch: { type: 'boolean' } },
    allowPositionals: true,
    run: async (values, positionals) => {
      if (positionals.length > 1) throw new UsageError('status takes at most one DEPLOYMENT_ID');
      return (await import('./app/status-command.js')).statusCommand(positionals[0], values);
    },
  },
  ...Object.fromEntries(
    ([
      ['promote', 'promote the canaries now, whatever the analysis says'],
      ['abort', 'fail the deployment and roll back as the policy says'],
      ['retry', "start a held or failed check's measurements afresh"],
      ['pause', 'pause the deployment in Nomad: no automatic decision, the canary timeout stops'],
      ['resume', 'resume a paused deployment'],
    ] as const).map(([action, summary]): [string, Command] => [
      action,
      {
        summary: `a person's decision: ${summary}`,
        usage: `Usage: nomad-promoter ${action} [options] DEPLOYMENT_ID

A person's decision, carried out by the running daemon: ${summary}. Recorded in the
deployment's history with source human, who and why. Needs PROMOTER_API_TOKEN.
DEPLOYMENT_ID may be a unique prefix of 8 or more characters.

Options:
${DAEMON_OPTIONS}
  --group G                                only this task group (default: every governed group)
  --reason TEXT                            why, for the history
  --who NAME               PROMOTER_USER   who decides (default: the login name)`,
        options: { daemon: { type: 'string' }, group: { type: 'string' }, reason: { type: 'string' }, who: { type: 'string' } },
        allowPositionals: true,
        run: async (values, positionals) => {
          if (positionals.length !== 1) throw new UsageError(`${action} needs exactly one DEPLOYMENT_ID`);
          return (await import('./app/action-command.js')).actionCommand(action, positionals[0]!, values);
        },
      },
    ]),
  ),
  demo: {
    summary: 'the built-in Nomad simulator, example jobs and policies, and the daemon against them',
    usage: `Usage: nomad-promoter demo [options]

Starts the built-in Nomad simulator, registers example jobs, and runs the daemon against it:
a good canary is promoted after its bake time, a bad one fails and is rolled back.
Prints the dashboard's URL. Exits when the scenarios have played out (under a minute).

Options:
  --listen HOST:PORT   the daemon's status server and dashboard (default: 127.0.0.1:9646)
  --keep-running       keep simulator, daemon and dashboard running afterwards, until
                       Ctrl-C (SIGINT or SIGTERM stop them cleanly at any point)

Environment:
  PROMOTER_API_TOKEN   enables the action API, and the dashboard's buttons once the
                       token is entered there`,
    options: { listen: { type: 'string' }, 'keep-running': { type: 'boolean' } },
    allowPositionals: false,
    run: async (values) => (await import('./app/demo.js')).demoCommand(values),
  },
  simulate: {
    summary: 'the built-in Nomad API simulator alone, as an HTTP server',
    usage: `Usage: nomad-promoter simulate [options]

Serves the part of Nomad's HTTP API the promoter uses, with a control API under /_sim/
(see src/simulator/README.md).

Every running allocation gets a real HTTP app on 127.0.0.1 (/healthz, /metrics, /) on the
port the allocation reports.

Options:
  --listen HOST:PORT   address to serve (default: 127.0.0.1:4646)
  --frozen-clock       start with the simulated clock frozen (advance it through /_sim/clock)
  --clock-offset=DUR   run the simulated clock this far from the host's (Go duration; -1h: a
                       cluster whose clocks are an hour behind)
  --file-sd PATH       keep a Prometheus file_sd targets file listing the running allocations' apps
  --no-apps            no apps: allocation ports are mere numbers`,
    options: { listen: { type: 'string' }, 'frozen-clock': { type: 'boolean' }, 'clock-offset': { type: 'string' }, 'file-sd': { type: 'string' }, 'no-apps': { type: 'boolean' } },
    allowPositionals: false,
    run: async (values) => (await import('./app/simulate-command.js')).simulateCommand(values),
  },
};

export class UsageError extends Error {}

function topUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: nomad-promoter COMMAND [options]

Analysis-driven canary promotion for HashiCorp Nomad.

Commands:
${lines.join('\n')}

Run 'nomad-promoter COMMAND --help' for a command's options.`;
}

/**
 * The reader of our output went away (`validate policies/ | head -1`): nobody reads what is left,
 * so stop quietly instead of dying on the write error.
 */
function stopWhenOutputClosed(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(EXIT.ok);
  });
}

export async function main(argv: string[]): Promise<number> {
  stopWhenOutputClosed();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${topUsage()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version') {
    const { VERSION } = await import('./app/version.js');
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`nomad-promoter: unknown command "${name}"\n\n${topUsage()}\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${command.usage}\n`);
    return EXIT.ok;
  }
  try {
    const { values, positionals } = parseArgs({ args: rest, options: command.options, allowPositionals: command.allowPositionals, strict: true });
    return await command.run(values as Record<string, string | boolean | undefined>, positionals);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`nomad-promoter ${name}: ${(err as Error).message}\n\n${command.usage}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}
