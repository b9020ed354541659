/**
 * The add-on's AppArmor profile (addon/apparmor.txt, read by the Supervisor from the root link):
 * one profile, named after the slug (supervisor/utils/apparmor.py takes exactly one `profile NAME`
 * line and renames it to the full slug), covering the programs and folders the image uses, and —
 * when apparmor_parser is installed (Debian: apt-get install apparmor) — compiling without errors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, readManifest } from './repo.js';

const profile = readFileSync(join(ROOT, 'apparmor.txt'), 'utf8');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

function parserPath(): string | undefined {
  for (const p of ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser']) {
    if (spawnSync(p, ['--version']).status === 0) return p;
  }
  return undefined;
}
const parser = parserPath();

/** Compiles a profile without loading it into a kernel; the parser's complaints, or '' when it compiles. */
function compile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'apparmor-'));
  const file = join(dir, 'profile');
  writeFileSync(file, text);
  try {
    execFileSync(parser!, ['--skip-kernel-load', '--skip-cache', file], { stdio: 'pipe' });
    return '';
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err);
  }
}

describe('apparmor.txt', () => {
  it('holds exactly one top-level profile, named after the add-on’s slug', () => {
    const names = [...profile.matchAll(/^profile ([^ ]+)/gm)].map((m) => m[1]);
    expect(names).toEqual([readManifest().slug]);
    expect(profile).toMatch(/^profile \S+ flags=\(attach_disconnected,mediate_deleted\) \{$/m);
  });

  it('lets the image’s programs run and reaches the folders the agent uses', () => {
    // The programs the Dockerfile starts: tini, node (ENTRYPOINT, HEALTHCHECK), ping (router probe).
    expect(dockerfile).toContain('"/sbin/tini"');
    expect(profile).toMatch(/^\s+\/sbin\/tini r?ix,$/m);
    expect(profile).toMatch(/^\s+\/usr\/local\/bin\/node r?ix,$/m);
    expect(profile).toMatch(/^\s+\/\{,usr\/\}bin\/ping r?ix,$/m);
    expect(profile).toMatch(/^\s+\/data\/\*\* rw/m);
    expect(profile).toMatch(/^\s+\/app\/\*\* r,$/m);
    expect(profile).toMatch(/^\s+capability net_raw,$/m);
    for (const cap of ['chown', 'setuid', 'setgid'])
      expect(profile).toMatch(new RegExp(`^\\s+capability ${cap},$`, 'm'));
  });

  it.skipIf(parser === undefined)(
    'compiles with apparmor_parser (and the parser does reject a broken one)',
    () => {
      expect(compile(profile)).toBe('');
      expect(compile(profile.replace('capability net_raw,', 'capability net_rawr,'))).toMatch(
        /net_rawr|capability/i,
      );
    },
  );
});
