/** Dockerfile instructions, with continuation lines joined and comments dropped. */
import fs from 'node:fs';

export interface Instruction {
  keyword: string;
  args: string;
  /** The instruction as one line, whitespace collapsed: what image-steps.sh quotes. */
  text: string;
}

export function instructions(file: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const text = `${pending}${line}`.replace(/\s+/g, ' ').trim();
    pending = '';
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(text);
    if (m) out.push({ keyword: (m[1] ?? '').toUpperCase(), args: m[2] ?? '', text });
  }
  return out;
}

/** Lines quoted by `# Dockerfile: <line>` comments in a script. */
export function mirroredLines(script: string): string[] {
  return [...fs.readFileSync(script, 'utf8').matchAll(/# Dockerfile: (.+)$/gm)].map((m) => (m[1] ?? '').replace(/\s+/g, ' ').trim());
}
