/**
 * The daemon's CPU time and memory as Linux accounts them (/proc/<pid>/stat and status), read
 * from outside: sampling its /metrics instead would make the daemon render every series once a
 * second, which at 10,000 deployments is itself a large share of its CPU and of its heap.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ProcessUsage {
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  /** Resident set now. */
  rssBytes: number;
  /** The largest resident set so far (the kernel's high-water mark, not a sampled peak). */
  peakRssBytes: number;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

export function processUsage(pid: number): ProcessUsage {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { cpuSeconds, rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}
