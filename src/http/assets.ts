/**
 * The status page's files (docs/status-page.md) as the HTTP server's `assets` map. `npm run build`
 * compiles web/src to browser modules and copies web/static next to them, in dist/web/; this
 * reads that folder once at start (a few tens of KB), so serving a file never touches the disk.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StaticAsset } from './server.js';

/**
 * The page's files could not be read: the build did not produce them. (Not an AppError: the agent
 * runs on without the page, serving its page of links, so no caller needs to switch on a code.)
 */
export class PageAssetsError extends Error {
  override readonly name = 'PageAssetsError';
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Where the built page lives: dist/web next to dist/http (the built agent), or, when this file runs
 * from src/ (tests, benchmarks), dist/web of the same checkout.
 */
export function defaultPageDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return import.meta.url.endsWith('.ts') ? join(here, '..', '..', 'dist', 'web') : join(here, '..', 'web');
}

/**
 * Reads every file of the built page: `index.html` is served at `/`, the others at `/<name>`.
 * Modules that hold only types (an empty `export {};`) are left out.
 */
export async function loadPageAssets(dir: string = defaultPageDir()): Promise<Map<string, StaticAsset>> {
  const missing = (cause?: unknown) =>
    new PageAssetsError(
      `The status page's files are missing from ${dir}: run npm run build (it compiles web/ into dist/web). Until then / shows a page of links.`,
      { cause },
    );
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw missing(err);
  }
  if (!names.includes('index.html')) throw missing();
  const assets = new Map<string, StaticAsset>();
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const file = join(dir, name);
    if (!(await stat(file)).isFile()) continue;
    const body = await readFile(file);
    if (name.endsWith('.js') && /^\s*export\s*\{\s*\};?\s*$/.test(body.toString('utf8'))) continue;
    // The login form (src/http/respond.ts) uses the icon and the stylesheet: they hold nothing secret.
    const isPublic = name === 'icon.svg' || name === 'style.css';
    assets.set(name === 'index.html' ? '/' : `/${name}`, {
      type,
      body,
      ...(isPublic ? { public: true } : {}),
    });
  }
  return assets;
}
