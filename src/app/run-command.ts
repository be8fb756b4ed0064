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
  let daemon;
  try {
    daemon = await startDaemon(config, { logger });
  } catch (err) {
    if (err instanceof StartupError) {
      logger.fatal({ exitCode: err.exitCode }, err.message);
      return err.exitCode;
    }
    throw err;
  }
  const running = daemon;
  const stop = () => void running.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading policies');
    void running.reloadPolicies();
  });
  await running.stopped;
  return EXIT.ok;
}
