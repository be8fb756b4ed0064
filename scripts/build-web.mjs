// Builds the dashboard (web/) into dist/web/: one minified script and one stylesheet with fixed
// names, and index.html, which loads only those two (the daemon's CSP allows nothing else).
// Prints the gzip size, the number docs/design.md states.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

const out = new URL('../dist/web/', import.meta.url);
await mkdir(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning' };
await build({ ...common, entryPoints: ['web/main.tsx'], outfile: 'dist/web/app.js', format: 'esm', target: 'es2020', jsx: 'automatic', jsxImportSource: 'preact' });
await build({ ...common, entryPoints: ['web/app.css'], outfile: 'dist/web/app.css' });
await copyFile(new URL('../web/index.html', import.meta.url), new URL('index.html', out));

const sizes = await Promise.all(['index.html', 'app.js', 'app.css'].map(async (f) => [f, gzipSync(await readFile(new URL(f, out)), { level: 9 }).length]));
const total = sizes.reduce((sum, [, n]) => sum + n, 0);
console.log(`dashboard: dist/web ${sizes.map(([f, n]) => `${f} ${(n / 1024).toFixed(1)} KiB`).join(', ')}; ${(total / 1024).toFixed(1)} KiB gzip in all`);
