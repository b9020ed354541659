/**
 * The house rules of docs/architecture.md ("Import rules"), checked on the import lines of every
 * src/**\/*.ts file: no parser and no new dependency, just the `import … from '…'`,
 * `export … from '…'`, `import '…'` and `import('…')` specifiers, resolved to repository paths.
 * Type-only imports count too: a type is a dependency as well.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Files above this many lines hold more than one job: split them along a seam. */
const MAX_LINES = 400;

/**
 * Files still over MAX_LINES while their owners finish the splits of issue 7: each may not grow
 * past the count written here. Empty this list when the splits are done.
 */
const SIZE_ALLOWED: Readonly<Record<string, number>> = {};

/** Adapters: they talk to the outside world, through a port. */
const ADAPTERS = [
  'src/ip/',
  'src/dns/',
  'src/mqtt/',
  'src/probes/',
  'src/plugs/',
  'src/state/store',
  'src/notify/',
  'src/http/',
  'src/ha/',
  'src/supervisor.ts',
];
/** Services: they decide when things happen and ask the core what to do. */
const SERVICES = ['src/reconciler/', 'src/watchdog/', 'src/scheduler.ts'];
/** The composition root: builds adapters, hands them to the services, handles the process. */
const ROOTS = [
  'src/agent.ts',
  'src/agent/',
  'src/main.ts',
  'src/cli.ts',
  'src/bin.ts',
  'src/check.ts',
  'src/demo.ts',
];
/** The only files that may import src/agent.ts (tests may too). */
const AGENT_IMPORTERS = ['src/main.ts', 'src/cli.ts', 'src/check.ts', 'src/demo.ts'];

const under = (file: string, prefixes: readonly string[]): boolean =>
  prefixes.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p || file.startsWith(p)));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sourceFiles(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
    )
    .sort();
}

/**
 * The module specifiers a file imports. Statements are matched at the start of a line (so a
 * comment or a string mentioning an import is not one); `import('…')` anywhere.
 */
function importSpecifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^[ \t]*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^[ \t]*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const m of text.matchAll(pattern)) if (m[1]) found.push(m[1]);
  }
  return found;
}

/** A relative specifier as a repository path (`src/…/x.ts`); a package as its name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const path = relative(ROOT, resolve(ROOT, dirname(file), spec));
  return path.replace(/\.js$/, '.ts');
}

/** The line count `wc -l` shows. */
function lineCount(text: string): number {
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

interface Edge {
  from: string;
  to: string;
}

const FILES = sourceFiles('src');
const TEXTS = new Map(FILES.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));
const EDGES: Edge[] = FILES.flatMap((from) =>
  importSpecifiers(TEXTS.get(from) ?? '').map((spec) => ({ from, to: target(from, spec) })),
);
const show = (edges: readonly Edge[]): string[] => edges.map((e) => `${e.from} imports ${e.to}`);

/** Each import rule: the edges that break it. */
const RULES: ReadonlyArray<{ name: string; broken: (e: Edge) => boolean }> = [
  {
    name: 'domain/imports only itself and zod',
    broken: (e) => e.from.startsWith('src/domain/') && !e.to.startsWith('src/domain/') && e.to !== 'zod',
  },
  {
    name: 'adapters/never import a service',
    broken: (e) => under(e.from, ADAPTERS) && under(e.to, SERVICES),
  },
  {
    name: 'adapters and services/never import the composition root',
    broken: (e) => under(e.from, [...ADAPTERS, ...SERVICES]) && under(e.to, ROOTS),
  },
  {
    name: 'agent.ts/imported only by main, cli, check and demo',
    broken: (e) => e.to === 'src/agent.ts' && !AGENT_IMPORTERS.includes(e.from),
  },
  {
    name: 'src/agent/ (the root’s helpers)/imported only by agent.ts',
    broken: (e) =>
      e.to.startsWith('src/agent/') && e.from !== 'src/agent.ts' && !e.from.startsWith('src/agent/'),
  },
];

describe('import rules (docs/architecture.md)', () => {
  it('the import lines are found/multi-line, type-only, re-exports, side effects and import()', () => {
    const text = [
      "import {\n  a,\n  type B,\n} from './multi.js';",
      "import type { C } from '../types.js';",
      "export { d } from './re-export.js';",
      "export * from 'zod';",
      "import './side-effect.js';",
      "  const m = await import('./dynamic.js');",
      " * import { notReal } from './in-a-comment.js';",
      'const s = \'import x from "./in-a-string.js"\';',
    ].join('\n');
    expect(importSpecifiers(text).sort()).toEqual(
      ['../types.js', './dynamic.js', './multi.js', './re-export.js', './side-effect.js', 'zod'].sort(),
    );
  });

  it('the rules see every source file and its imports', () => {
    expect(FILES).toContain('src/agent.ts');
    expect(FILES.some((f) => f.startsWith('src/domain/'))).toBe(true);
    expect(EDGES).toContainEqual({ from: 'src/main.ts', to: 'src/agent.ts' });
    expect(EDGES).toContainEqual({ from: 'src/cli.ts', to: 'src/demo.ts' });
  });

  it.each(RULES)('$name', ({ name, broken }) => {
    const offenders = show(EDGES.filter(broken));
    expect(offenders, `${name}: move the import or the code (docs/architecture.md, "Import rules")`).toEqual(
      [],
    );
  });

  it('each rule catches its breach/a made-up import of each kind is refused', () => {
    const breaches: Edge[] = [
      { from: 'src/domain/ip.ts', to: 'node:net' },
      { from: 'src/domain/dns-plan.ts', to: 'src/state/schema.ts' },
      { from: 'src/ip/detector.ts', to: 'src/scheduler.ts' },
      { from: 'src/http/server.ts', to: 'src/watchdog/service.ts' },
      { from: 'src/state/store.ts', to: 'src/main.ts' },
      { from: 'src/reconciler/reconciler.ts', to: 'src/agent/ip-sources.ts' },
      { from: 'src/http/server.ts', to: 'src/agent.ts' },
      { from: 'src/ha/bridge.ts', to: 'src/agent/mqtt-startup.ts' },
    ];
    for (const edge of breaches) {
      expect(
        RULES.filter((r) => r.broken(edge)).map((r) => r.name),
        `${edge.from} → ${edge.to}`,
      ).not.toEqual([]);
    }
    const allowed: Edge[] = [
      { from: 'src/domain/dns-plan.ts', to: 'src/domain/ip.ts' },
      { from: 'src/domain/uptime.ts', to: 'zod' },
      { from: 'src/main.ts', to: 'src/agent.ts' },
      { from: 'src/agent.ts', to: 'src/agent/mqtt-startup.ts' },
      { from: 'src/watchdog/service.ts', to: 'src/scheduler.ts' },
      { from: 'src/ip/detector.ts', to: 'src/domain/consensus.ts' },
    ];
    for (const edge of allowed) {
      expect(
        RULES.filter((r) => r.broken(edge)).map((r) => r.name),
        `${edge.from} → ${edge.to}`,
      ).toEqual([]);
    }
  });
});

describe(`size guard: no file in src/ over ${MAX_LINES} lines`, () => {
  const lines = new Map(FILES.map((f) => [f, lineCount(TEXTS.get(f) ?? '')]));

  it('files over the limit/none outside the allow-list', () => {
    const offenders = FILES.filter((f) => (lines.get(f) ?? 0) > MAX_LINES && !(f in SIZE_ALLOWED)).map(
      (f) => `${f}: ${lines.get(f)} lines`,
    );
    expect(
      offenders,
      `over ${MAX_LINES} lines: split each along a seam (one job per file, docs/architecture.md)`,
    ).toEqual([]);
  });

  it.each(Object.entries(SIZE_ALLOWED))('allow-listed/%s (%i lines at most, TODO split)', (file, max) => {
    const count = lines.get(file);
    if (count === undefined) return; // gone: split or moved, nothing left to hold back
    expect(count, `${file} grew past its allow-listed ${max} lines: split it instead`).toBeLessThanOrEqual(
      max,
    );
  });
});
