/**
 * The add-on manifest (config.yaml) passes the official add-on linter's rules and the Supervisor's
 * own checks, and the files the Supervisor reads next to it are really there. The linter is
 * frenck/action-addon-linter, ported in addon-lint.ts; each rule is also shown to catch a manifest
 * that breaks it, so a pass means something.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { lintAddonFolder, lintManifest, lintWarnings } from './addon-lint.js';
import { ROOT, readManifest } from './repo.js';
import { schemaProblems } from './supervisor-options.js';

const manifest = readManifest();
const asJson = () => JSON.parse(JSON.stringify(manifest)) as Record<string, never>;

describe('config.yaml / the official add-on linter', () => {
  it('the repository root lints clean (no errors, no warnings)', () => {
    expect(lintAddonFolder(ROOT)).toEqual([]);
    expect(lintWarnings(asJson())).toEqual([]);
  });

  it.each([
    ['required/no slug', (m: Record<string, unknown>) => delete m.slug, "'slug' is a required property"],
    ['required/no arch', (m: Record<string, unknown>) => delete m.arch, "'arch' is a required property"],
    ['unknown key/typo', (m: Record<string, unknown>) => (m.ingres = true), "'ingres' was unexpected"],
    ['default/init true', (m: Record<string, unknown>) => (m.init = true), "'init' should be removed"],
    [
      'default/ingress_port 8099',
      (m: Record<string, unknown>) => (m.ingress_port = 8099),
      "'ingress_port' should be removed",
    ],
    ['default/boot auto', (m: Record<string, unknown>) => (m.boot = 'auto'), "'boot' should be removed"],
    [
      'default/panel_icon puzzle',
      (m: Record<string, unknown>) => (m.panel_icon = 'mdi:puzzle'),
      "'panel_icon' should be removed",
    ],
    [
      'default/startup application',
      (m: Record<string, unknown>) => (m.startup = 'application'),
      "'startup' should be removed",
    ],
    [
      'watchdog/any',
      (m: Record<string, unknown>) => (m.watchdog = 'http://[HOST]:[PORT:8080]/healthz'),
      "'watchdog', is obsolete",
    ],
    ['services/bad form', (m: Record<string, unknown>) => (m.services = ['mqtt']), "'mqtt' does not match"],
    [
      'services/bad right',
      (m: Record<string, unknown>) => (m.services = ['mqtt:maybe']),
      "'mqtt:maybe' does not match",
    ],
    [
      'arch/unknown',
      (m: Record<string, unknown>) => (m.arch = ['aarch64', 'arm64']),
      "'arm64' is not one of",
    ],
    [
      'ingress/webui too',
      (m: Record<string, unknown>) => (m.webui = 'http://[HOST]:[PORT:8080]/'),
      "'webui' should be removed",
    ],
    [
      'ingress/port 0',
      (m: Record<string, unknown>) => (m.ingress_port = 0),
      "'ingress_port' this does not run on the host network",
    ],
    ['type/ingress_port text', (m: Record<string, unknown>) => (m.ingress_port = '8080'), 'is not of type'],
  ])('the linter catches %s', (_name, change, message) => {
    const broken = asJson();
    change(broken);
    expect(lintManifest(broken).join('\n')).toContain(message);
  });

  it('deprecated arches are warned about', () => {
    expect(lintWarnings({ ...asJson(), arch: ['armv7', 'amd64'] })).toEqual([
      "Architecture 'armv7' is deprecated",
    ]);
  });

  it('no build.yaml / build.json: a build file fails the lint', () => {
    for (const ext of ['json', 'yaml', 'yml']) expect(existsSync(join(ROOT, `build.${ext}`))).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'addon-lint-'));
    writeFileSync(join(dir, 'config.yaml'), YAML.stringify(manifest));
    expect(lintAddonFolder(dir)).toEqual([]);
    writeFileSync(join(dir, 'build.yaml'), 'build_from: {}\n');
    expect(lintAddonFolder(dir)).toEqual([
      'build.yaml should be removed: FROM, ARG and LABEL live in the Dockerfile',
    ]);
  });

  it('what SPEC §8 and §9 ask for', () => {
    expect(manifest).toMatchObject({
      slug: 'ddns_watchdog',
      arch: ['aarch64', 'amd64'],
      services: ['mqtt:want'],
      homeassistant_api: true,
      hassio_api: true,
      ingress: true,
      panel_icon: 'mdi:router-network',
      panel_title: 'DDNS Watchdog',
      homeassistant: '2024.11.0',
      init: false,
    });
    expect(manifest.ingress_port).toEqual(expect.any(Number));
    expect(manifest).not.toHaveProperty('watchdog');
  });

  it('the version is the package version (the Supervisor tags the image it builds with it)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(manifest.version).toBe(pkg.version);
    expect(readFileSync(join(ROOT, 'addon', 'CHANGELOG.md'), 'utf8')).toMatch(
      new RegExp(`^## ${manifest.version.replaceAll('.', '\\.')}\\b`, 'm'),
    );
  });
});

describe('config.yaml / the Supervisor', () => {
  // supervisor/apps/validate.py: RE_SLUG, version_tag, RE_SERVICE, ARCH_ALL_COMPAT, SCHEMA_ELEMENT.
  it('slug, version, services and the schema have the forms the Supervisor accepts', () => {
    expect(manifest.slug).toMatch(/^[-_.A-Za-z0-9]+$/);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
    for (const s of manifest.services ?? [])
      expect(s).toMatch(/^(?<service>mqtt|mysql):(?<rights>provide|want|need)$/);
    expect(schemaProblems(manifest.schema)).toEqual([]);
  });

  it('the schema checker is not blind: bad types and lists in lists are reported', () => {
    expect(schemaProblems({ a: 'integer', b: [['str']], c: ['str', 'int'], d: 'int(1,65535)?' })).toEqual([
      "a: 'integer' is not a schema type",
      'b: a list may not directly contain another list',
      'c: a list holds exactly one element',
    ]);
  });

  it('repository.yaml names the repository (its only required key) with a valid URL', () => {
    const repo = YAML.parse(readFileSync(join(ROOT, 'repository.yaml'), 'utf8')) as Record<string, unknown>;
    expect(repo.name).toEqual(expect.any(String));
    expect(String(repo.url)).toMatch(/^https:\/\/[^/]+\//);
    expect(repo.url).toBe(manifest.url);
  });
});

/** Files and folders the Supervisor reads from the folder of config.yaml (SPEC §8). */
const SUPERVISOR_READS = ['DOCS.md', 'CHANGELOG.md', 'translations', 'icon.png', 'logo.png', 'apparmor.txt'];

describe('what the Supervisor reads beside config.yaml', () => {
  function gitMode(path: string): string | undefined {
    try {
      const out = execFileSync('git', ['ls-files', '-s', '--', path], { cwd: ROOT, encoding: 'utf8' });
      return out.split(/\s/)[0] || undefined;
    } catch {
      return undefined;
    }
  }

  it.each(SUPERVISOR_READS)('%s at the root is a relative git symlink into addon/', (name) => {
    const home = join(ROOT, 'addon', name);
    expect(lstatSync(home).isSymbolicLink()).toBe(false);
    const root = join(ROOT, name);
    expect(lstatSync(root).isSymbolicLink()).toBe(true);
    expect(readlinkSync(root)).toBe(`addon/${name}`);
    expect(realpathSync(root)).toBe(realpathSync(home));
    // Once committed, git must store it as a symlink (mode 120000), not as a text file.
    const mode = gitMode(name);
    if (mode !== undefined) expect(mode).toBe('120000');
  });

  function pngSize(path: string): { width: number; height: number } {
    const png = readFileSync(path);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
  }

  // developers.home-assistant.io/docs/apps/presentation: icon 1:1 (128x128 advised), logo ~250x100.
  it('icon.png is a square PNG of 128 px, logo.png a PNG of 250x100', () => {
    expect(pngSize(join(ROOT, 'icon.png'))).toEqual({ width: 128, height: 128 });
    expect(pngSize(join(ROOT, 'logo.png'))).toEqual({ width: 250, height: 100 });
  });

  it('DOCS.md and CHANGELOG.md have content', () => {
    expect(readFileSync(join(ROOT, 'DOCS.md'), 'utf8')).toMatch(/^# DDNS Watchdog/m);
    expect(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8')).toMatch(/^# Changelog/m);
  });
});

describe('no other add-on manifests in the repository', () => {
  /**
   * The Supervisor takes every `config.*` file with a .json, .yaml or .yml suffix, in any folder,
   * as an add-on (supervisor/store/data.py: glob "**\/config.*"), so `config.schema.json` counts too.
   */
  function manifestsUnder(dir: string, rel = ''): string[] {
    const found: string[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (/^config\..*\.(json|ya?ml)$|^config\.(json|ya?ml)$/i.test(entry.name)) found.push(path);
      if (entry.isDirectory()) found.push(...manifestsUnder(join(dir, entry.name), path));
    }
    return found;
  }

  it('config.yaml at the root is the only file named config.{json,yaml,yml} (or config.*.json…)', () => {
    expect(manifestsUnder(ROOT)).toEqual(['config.yaml']);
  });
});
