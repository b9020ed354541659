/**
 * The Dockerfile, checked without a container engine (none runs here): parsed by dockerfile-ast and
 * linted by dockerfile-utils (the Dockerfile support of VS Code's Docker language server), then held
 * to what SPEC §8 and docs/docker.md promise. What only a real build can show (that the base image
 * exists for both architectures, that apk finds the packages, that ping then works for the user) is
 * not proven here; docs/docker.md says so.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { argsText, DOCKERFILE_TEXT, parseDockerfile, ROOT } from './dockerfile.js';

const d = parseDockerfile();
const manifest = YAML.parse(readFileSync(join(ROOT, 'config.yaml'), 'utf8')) as Record<string, unknown>;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts?: Record<string, string>;
};
/** Every instruction's text, without the comments. */
const instructionsText = () =>
  d.dockerfile
    .getInstructions()
    .map((i) => `${i.getKeyword()} ${argsText(i)}`)
    .join('\n');
const runs = (stage: (typeof d.stages)[number]) => d.of(stage, 'RUN').map(argsText);

/** Docker's duration flags (`30s`, `1m30s`) in seconds. */
function seconds(text: string | undefined): number {
  let total = 0;
  for (const [, n, unit] of (text ?? '').matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(n) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[unit!]!;
  }
  return total;
}

/** .dockerignore as Docker reads it here: `*` and plain paths, `!` re-includes; last match wins. */
function dockerIgnored(path: string): boolean {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let ignored = false;
  for (const rule of rules) {
    const negate = rule.startsWith('!');
    const pattern = negate ? rule.slice(1) : rule;
    const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*')}(/.*)?$`);
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

describe('Dockerfile / parse and lint', () => {
  it('every instruction parses, and the Dockerfile linter has nothing to say', () => {
    expect(validate(DOCKERFILE_TEXT)).toEqual([]);
    expect(d.dockerfile.getInstructions().length).toBeGreaterThan(20);
  });

  it('the linter is not blind: an unknown instruction and a bad HEALTHCHECK flag are reported', () => {
    const broken = `FROM node:24-alpine\nRUNN echo\nHEALTHCHECK --interval=30x CMD ["node"]\n`;
    const messages = validate(broken).map((x) => x.message);
    expect(messages.length).toBeGreaterThanOrEqual(2);
  });

  it('two stages on one base image, pinned to a Node major version (no latest, no untagged)', () => {
    expect(d.stages.map((s) => s.name)).toEqual(['build', null]);
    for (const s of d.stages) expect(s.image).toMatch(/^node:\d+-alpine$/);
    expect(Number(/^node:(\d+)/.exec(d.final.image)?.[1])).toBeGreaterThanOrEqual(22);
  });

  it('the base image is not taken from BUILD_FROM (older Supervisors pass one without Node)', () => {
    expect(instructionsText()).not.toMatch(/\bBUILD_FROM\b/);
    expect([...d.globalArgs.keys()]).toEqual(['NODE_IMAGE']);
  });

  it('build stage: every dependency and tsc; runtime: the built files and production dependencies only', () => {
    const [build] = d.stages;
    const buildRuns = runs(build!).join(' && ');
    expect(buildRuns).toMatch(/npm ci\b/);
    expect(buildRuns).toMatch(/npm run build\b/);
    expect(buildRuns).toMatch(/npm prune --omit=dev\b/);
    const commands = runs(d.final).flatMap((r) => r.split(/&&|;/).map((c) => c.trim().split(/\s+/)[0]));
    expect(commands.filter((c) => ['npm', 'npx', 'tsc', 'yarn'].includes(c ?? ''))).toEqual([]);
    const fromBuild = d
      .of(d.final, 'COPY')
      .filter((c) => /--from=build/.test(c.getTextContent?.() ?? ''))
      .map((c) => c.getArguments()[0]?.getValue());
    expect(fromBuild.sort()).toEqual(['/src/dist', '/src/node_modules', '/src/package.json']);
  });

  it('the build stage has everything `npm run build` reads (tsconfig files, src/, web/)', () => {
    const build = pkg.scripts?.build ?? '';
    const needed = new Set<string>();
    for (const m of build.matchAll(/(?:^|\s)-p\s+(\S+)|(?:^|\s)node\s+(\S+)/g)) {
      needed.add((m[1] ?? m[2])!.split('/')[0]!);
    }
    // tsc -p tsconfig.build.json: the file, the one it extends, and what it includes.
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      extends?: string;
      include?: string[];
    };
    if (tsconfig.extends) needed.add(tsconfig.extends.replace(/^\.\//, ''));
    for (const inc of tsconfig.include ?? []) needed.add(inc.split('/')[0]!);
    const copied = d
      .of(d.stages[0]!, 'COPY')
      .flatMap((c) =>
        c
          .getArguments()
          .map((a) => a.getValue())
          .slice(0, -1),
      )
      .map((p) => p.split('/')[0]);
    expect([...needed].filter((n) => !copied.includes(n))).toEqual([]);
    expect(needed.size).toBeGreaterThanOrEqual(3);
  });

  it('no ADD at all (so no ADD of a URL); every COPY from the context exists and passes .dockerignore', () => {
    expect(d.stages.flatMap((s) => d.of(s, 'ADD'))).toEqual([]);
    for (const stage of d.stages) {
      for (const copy of d.of(stage, 'COPY')) {
        if (/--from=/.test(copy.getTextContent?.() ?? '')) continue;
        const sources = copy
          .getArguments()
          .map((a) => a.getValue())
          .slice(0, -1);
        for (const src of sources) {
          expect([src, existsSync(join(ROOT, src))]).toEqual([src, true]);
          expect([src, dockerIgnored(src)]).toEqual([src, false]);
        }
      }
    }
  });

  it('.dockerignore keeps local build output, dependencies, tests, state and git out of the context', () => {
    for (const path of [
      'node_modules',
      'dist/bin.js',
      '.git',
      'test/addon',
      'data/state.json',
      'docs',
      'README.md',
    ]) {
      expect([path, dockerIgnored(path)]).toEqual([path, true]);
    }
  });
});

describe('Dockerfile / what the image promises', () => {
  it('tini is PID 1 (config.yaml has init: false) and runs the entrypoint that drops root, then `run`', () => {
    expect(d.entrypoint).toEqual(['/sbin/tini', '--', 'node', '/app/docker/entrypoint.mjs']);
    expect(d.cmd).toEqual(['run']);
    expect(manifest.init).toBe(false);
    expect(runs(d.final).join(' ')).toMatch(/apk add --no-cache [^&]*\btini\b/);
  });

  it('never runs the agent as root: no USER root; the entrypoint switches to PUID (test/image/entrypoint.test.ts)', () => {
    expect(d.users.filter((u) => /^(root|0)(:|$)/.test(u))).toEqual([]);
    expect(runs(d.final).join(' ')).toMatch(/chown node:node \/data/);
    const entrypoint = readFileSync(join(ROOT, 'docker', 'entrypoint.mjs'), 'utf8');
    expect(entrypoint).toMatch(/process\.setuid/);
  });

  it('HEALTHCHECK asks /healthz with node (no curl), within its timeout, after a start period', () => {
    expect(d.healthcheck?.subcommand).toBe('CMD');
    expect(d.healthcheck?.command).toEqual(['node', '/app/docker/healthcheck.mjs']);
    const script = readFileSync(join(ROOT, 'docker', 'healthcheck.mjs'), 'utf8');
    expect(script).toMatch(/\/healthz/);
    const timeout = seconds(d.healthcheck?.flags.get('timeout'));
    const scriptTimeout = Number(/TIMEOUT_MS = (\d+)/.exec(script)?.[1]) / 1000;
    expect(scriptTimeout).toBeLessThan(timeout);
    expect(seconds(d.healthcheck?.flags.get('interval'))).toBeGreaterThanOrEqual(10);
    expect(seconds(d.healthcheck?.flags.get('start-period'))).toBeGreaterThanOrEqual(30);
    expect(instructionsText()).not.toMatch(/\bcurl\b|\bwget\b/);
  });

  it('io.hass.* labels: type, name, description, version (= package = manifest), arch (from the build)', () => {
    expect(d.labels.get('io.hass.type')).toBe('addon');
    expect(d.labels.get('io.hass.name')).toBe(manifest.name);
    expect(d.labels.get('io.hass.description')?.length).toBeGreaterThan(20);
    expect(d.labels.get('io.hass.version')).toBe(pkg.version);
    expect(manifest.version).toBe(pkg.version);
    expect(d.labels.get('io.hass.arch')).toBe(d.stageArgs.get('TARGETARCH') ?? '');
    expect(DOCKERFILE_TEXT).toMatch(/^ARG BUILD_ARCH=\$\{TARGETARCH\}$/m);
  });

  it('ENV: HTTP on 0.0.0.0:8080 (= ingress_port), state in /data, HOME and temp in /tmp; /data is a volume', () => {
    expect(d.env.get('HTTP_PORT')).toBe('8080');
    expect(Number(d.env.get('HTTP_PORT'))).toBe(manifest.ingress_port);
    expect(d.env.get('HTTP_HOST')).toBe('0.0.0.0');
    expect(d.env.get('STATE_DIR')).toBe('/data');
    expect(d.env.get('HOME')).toBe('/tmp');
    expect(d.env.get('TMPDIR')).toBe('/tmp');
    expect(d.volumes).toEqual(['/data']);
  });

  it('nothing runs npm at run time, and npm is not even in the runtime image', () => {
    for (const argv of [d.entrypoint, d.cmd, d.healthcheck?.command])
      expect(argv?.join(' ')).not.toMatch(/\bnpm|npx\b/);
    expect(runs(d.final).join(' ')).toMatch(/rm -rf \/usr\/local\/lib\/node_modules\/npm/);
  });

  it('ping for the unprivileged user: iputils (checked), setuid removed, cap_net_raw permitted only', () => {
    const run = runs(d.final).join(' ');
    expect(run).toMatch(/apk add --no-cache [^&]*\biputils-ping\b/);
    expect(run).toMatch(/-V \| grep -q iputils/);
    expect(run).toMatch(/chmod u-s "\$ping"/);
    expect(run).toMatch(/setcap cap_net_raw\+p "\$ping"/);
    for (const r of runs(d.final)) {
      for (const add of r.matchAll(/apk add (\S+)/g)) expect(add[1]).toBe('--no-cache');
    }
  });

  it('one Dockerfile for amd64 and arm64: no per-arch Dockerfile, no --platform pinned in a FROM', () => {
    expect(readdirSync(ROOT).filter((f) => /^Dockerfile\./.test(f))).toEqual([]);
    expect(DOCKERFILE_TEXT).not.toMatch(/^FROM --platform/m);
    expect(manifest.arch).toEqual(['aarch64', 'amd64']);
  });
});
