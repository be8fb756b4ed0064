/** `npm run bench -- [options]`: which parts of the benchmark to run. */
import { parseArgs } from 'node:util';

export type SourceName = 'stream' | 'blocking';
export type Shape = 'burst' | 'spread';

export interface BenchOptions {
  /** Concurrent canary deployments, each size run per source and shape. */
  sizes: number[];
  /** Tracked idle deployments for the memory row; 0 skips it. */
  idle: number;
  sources: SourceName[];
  shapes: Shape[];
  /** Run the simulator under `node --cpu-prof`, profiles written here. */
  simProfileDir?: string;
  /** Run the daemon under `node --cpu-prof`, profiles written here. */
  daemonProfileDir?: string;
}

export const USAGE = `npm run bench -- [--n 10,100,1000] [--idle 10000] [--source stream,blocking] [--shape burst,spread] [--sim-cpu-prof DIR]
  --n LIST          concurrent canary deployments per run (default 10,100,1000)
  --idle N          tracked idle deployments for the memory row, 0 to skip (default 10000)
  --source LIST     watch sources to compare (default stream,blocking)
  --shape LIST      burst (every bake ends at once) and/or spread (bake ends over 30 s) (default both)
  --sim-cpu-prof DIR  run the simulator under node --cpu-prof, writing its profiles to DIR
  --daemon-cpu-prof DIR  run the daemon under node --cpu-prof, writing its profiles to DIR`;

function list<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim());
  for (const item of items) if (!allowed.includes(item as T)) throw new Error(`--${flag}: "${item}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function count(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}: "${text}" is not a whole number >= ${min}`);
  return n;
}

export function parseBenchOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { n: { type: 'string' }, idle: { type: 'string' }, source: { type: 'string' }, shape: { type: 'string' }, 'sim-cpu-prof': { type: 'string' }, 'daemon-cpu-prof': { type: 'string' } },
  });
  return {
    sizes: (values.n ?? '10,100,1000').split(',').map((s) => count('n', s.trim(), 1)),
    idle: count('idle', values.idle ?? '10000', 0),
    sources: list('source', values.source ?? 'stream,blocking', ['stream', 'blocking'] as const),
    shapes: list('shape', values.shape ?? 'burst,spread', ['burst', 'spread'] as const),
    ...(values['sim-cpu-prof'] ? { simProfileDir: values['sim-cpu-prof'] } : {}),
    ...(values['daemon-cpu-prof'] ? { daemonProfileDir: values['daemon-cpu-prof'] } : {}),
  };
}
