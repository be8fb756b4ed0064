/** `nomad-promoter run`: resolve config, start the daemon, wire signals. */
import { EXIT } from '../cli.js';
import { resolveRunConfig, type RunFlags } from './config.js';
import { startDaemon, StartupError } from './daemon.js';
import { createLogger } from './logger.js';

export async function runCommand(flags: RunFlags): Promise<number> {
  const { config, errors, warnings } = resolveRunConfig(flags, process.env);
  if (!config) {
    for (const e of errors) process.stderr.write(`nomad-promoter run: ${e}\n`);
    return EXIT.invalid;
  }
  const logger = createLogger(config.logLevel);
  for (const w of warnings) logger.warn(w);
  // Signals are handled from the start: a SIGHUP or SIGTERM during start-up must not kill the process.
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
  let stopRequested = false;
  process.once('SIGTERM', () => (daemon ? void daemon.stop() : (stopRequested = true)));
  process.once('SIGINT', () => (daemon ? void daemon.stop() : (stopRequested = true)));
  process.on('SIGHUP', () => {
    if (!daemon) return;
    logger.info('SIGHUP: reloading policies');
    void daemon.reloadPolicies();
  });
  try {
    daemon = await startDaemon(config, { logger });
  } catch (err) {
    if (err instanceof StartupError) {
      logger.fatal({ exitCode: err.exitCode }, err.message);
      return err.exitCode;
    }
    throw err;
  }
  if (stopRequested) void daemon.stop();
  await daemon.stopped;
  return EXIT.ok;
}
