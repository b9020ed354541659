// Builds the status page (docs/status-page.md): tsc compiles web/src/*.ts to browser ES modules in
// dist/web/, then the static files (HTML, CSS, icon) are copied next to them. No bundler: the
// browser loads the modules as they are, and src/http/assets.ts serves whatever is in dist/web/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'web');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('The status page did not compile (web/src); fix the errors above and run npm run build again.');
  process.exit(r.status ?? 1);
}
mkdirSync(out, { recursive: true });
for (const name of readdirSync(join(here, 'static'))) copyFileSync(join(here, 'static', name), join(out, name));
