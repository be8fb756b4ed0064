/** `nomad-promoter simulate`: the built-in Nomad API simulator alone, until SIGTERM/SIGINT. */
import { EXIT } from '../cli.js';
import { parseGoDuration, startSimulator } from '../simulator/index.js';
import { parseListen } from './config.js';

export async function simulateCommand(flags: Record<string, string | boolean | undefined>): Promise<number> {
  const listenText = (flags.listen as string | undefined) ?? '127.0.0.1:4646';
  const listen = parseListen(listenText);
  if (!listen) {
    process.stderr.write(`nomad-promoter simulate: --listen "${listenText}" is not HOST:PORT\n`);
    return EXIT.usage;
  }
  const fileSdPath = flags['file-sd'] as string | undefined;
  const apps = flags['no-apps'] !== true;
  if (fileSdPath !== undefined && (fileSdPath === '' || !apps)) {
    process.stderr.write(`nomad-promoter simulate: --file-sd needs a path, and apps (not with --no-apps)\n`);
    return EXIT.usage;
  }
  let clockOffsetMs = 0;
  try {
    if (flags['clock-offset'] !== undefined) clockOffsetMs = parseGoDuration(String(flags['clock-offset']));
  } catch (err) {
    process.stderr.write(`nomad-promoter simulate: --clock-offset: ${(err as Error).message}\n`);
    return EXIT.usage;
  }
  const sim = await startSimulator({
    host: listen.host,
    port: listen.port,
    frozenClock: flags['frozen-clock'] === true,
    clockOffsetMs,
    apps,
    ...(fileSdPath ? { fileSdPath } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({ level: 'info', msg: 'Nomad simulator listening', url: sim.url, apps, ...(fileSdPath ? { fileSd: fileSdPath } : {}) })}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // The simulator is down either way; a targets file left listing dead apps is worth a warning only.
  await sim.close().catch((err: Error) => {
    process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'could not empty the targets file', error: err.message })}\n`);
  });
  return EXIT.ok;
}
