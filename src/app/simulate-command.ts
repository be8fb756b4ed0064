/** `nomad-promoter simulate`: the built-in Nomad API simulator alone, until SIGTERM/SIGINT. */
import { EXIT } from '../cli.js';
import { startSimulator } from '../simulator/index.js';
import { parseListen } from './config.js';

export async function simulateCommand(flags: Record<string, string | boolean | undefined>): Promise<number> {
  const listenText = (flags.listen as string | undefined) ?? '127.0.0.1:4646';
  const listen = parseListen(listenText);
  if (!listen) {
    process.stderr.write(`nomad-promoter simulate: --listen "${listenText}" is not HOST:PORT\n`);
    return EXIT.usage;
  }
  const sim = await startSimulator({ host: listen.host, port: listen.port, frozenClock: flags['frozen-clock'] === true });
  process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'Nomad simulator listening', url: sim.url })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await sim.close();
  return EXIT.ok;
}
