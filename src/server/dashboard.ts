/**
 * The dashboard's files, built by `npm run build` into dist/web/ and served from the package:
 * nothing is loaded from elsewhere, so it works on an air-gapped cluster. Only the files named
 * here are served, so no path can reach outside the folder.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

/** Where `npm run build` puts the page, from src/server/ and from dist/server/ alike. */
export const WEB_DIR = new URL('../../dist/web/', import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** Same-origin scripts, styles and API calls only; no inline script, no frames, no forms elsewhere. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Answers `path` when it is one of the dashboard's files; false otherwise. */
export async function serveDashboard(path: string, res: ServerResponse, dir: URL = WEB_DIR): Promise<boolean> {
  const entry = FILES[path];
  if (!entry) return false;
  let body: Buffer;
  try {
    body = await readFile(new URL(entry.file, dir));
  } catch {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'the dashboard is not built: run npm run build' }));
    return true;
  }
  res.writeHead(200, {
    'content-type': entry.type,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Fixed names: a browser revalidates, so an upgraded daemon never runs with yesterday's page.
    'cache-control': 'no-cache',
  });
  res.end(body);
  return true;
}
