/** The page's files as the server's assets map (src/http/assets.ts); `npm test` builds dist/web first. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPageAssets, PageAssetsError } from '../../src/http/assets.js';

describe('loadPageAssets', () => {
  it('assets/the built page/index at /, modules, stylesheet and icon with their types', async () => {
    const assets = await loadPageAssets();
    expect(assets.get('/')?.type).toBe('text/html; charset=utf-8');
    expect(assets.get('/main.js')?.type).toBe('text/javascript; charset=utf-8');
    expect(assets.get('/style.css')).toMatchObject({ type: 'text/css; charset=utf-8', public: true });
    expect(assets.get('/icon.svg')).toMatchObject({ type: 'image/svg+xml', public: true });
    expect(assets.get('/main.js')?.public).toBeUndefined();
    expect(assets.has('/types.js')).toBe(false); // types only: nothing to serve
    // Every module the page imports is there (a missing one would break the page under any prefix).
    for (const [path, asset] of assets) {
      if (!path.endsWith('.js')) continue;
      for (const m of String(asset.body).matchAll(/from '\.\/([\w-]+\.js)'/g)) {
        expect(assets.has(`/${m[1]}`), `${path} imports ${m[1]}`).toBe(true);
      }
    }
    // Nothing absolute or external in the HTML: every URL is relative.
    const html = String(assets.get('/')!.body);
    expect(html).not.toMatch(/(src|href)="(\/|https?:)/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)|<style|style="/);
  });

  it('assets/not built/a clear error that says to run npm run build', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'ddnsw-web-'));
    await writeFile(join(empty, 'main.js'), 'export {};');
    await expect(loadPageAssets(empty)).rejects.toThrow(PageAssetsError);
    await expect(loadPageAssets(join(empty, 'nope'))).rejects.toThrow(
      /missing from .*nope: run npm run build/,
    );
  });
});
