/**
 * The Dockerfile as the image tests see it, read by dockerfile-ast (the parser of VS Code's Docker
 * language server): stages, their instructions, and the values an image built from it would have
 * (ENV, LABEL, ENTRYPOINT, CMD, HEALTHCHECK), with `${ARG}` defaults filled in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DOCKERFILE_TEXT = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

export interface Stage {
  /** The base image with ARG defaults filled in, e.g. node:24-alpine. */
  image: string;
  /** `AS name`, if any. */
  name: string | null;
  instructions: Instruction[];
}

interface PropertyLike {
  getName(): string;
  getValue(): string | null;
}

/** Properties of ARG, ENV and LABEL instructions (dockerfile-ast types them per instruction). */
function properties(instruction: Instruction): PropertyLike[] {
  const i = instruction as unknown as {
    getProperties?: () => PropertyLike[];
    getProperty?: () => PropertyLike | null;
  };
  if (i.getProperties) return i.getProperties();
  const one = i.getProperty?.();
  return one ? [one] : [];
}

/** The instruction's text after its keyword, with line continuations joined. */
export function argsText(instruction: Instruction): string {
  return instruction
    .getArguments()
    .map((a) => a.getValue())
    .join(' ');
}

export function parseDockerfile(text = DOCKERFILE_TEXT) {
  const dockerfile = DockerfileParser.parse(text);
  const globalArgs = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    for (const p of properties(arg)) globalArgs.set(p.getName(), p.getValue() ?? '');
  }
  const fill = (s: string, vars: Map<string, string>) =>
    s.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (_m, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? '',
    );

  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const from = instruction as unknown as { getImage(): string | null; getBuildStage(): string | null };
      stages.push({
        image: fill(from.getImage() ?? '', globalArgs),
        name: from.getBuildStage(),
        instructions: [],
      });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  const final = stages.at(-1)!;
  const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);

  const stageArgs = new Map(globalArgs);
  for (const arg of of(final, 'ARG')) {
    for (const p of properties(arg)) stageArgs.set(p.getName(), fill(p.getValue() ?? '', stageArgs));
  }
  const env = new Map<string, string>();
  for (const e of of(final, 'ENV'))
    for (const p of properties(e)) env.set(p.getName(), fill(p.getValue() ?? '', stageArgs));
  const labels = new Map<string, string>();
  for (const l of of(final, 'LABEL')) {
    for (const p of properties(l)) labels.set(p.getName(), fill(p.getValue() ?? '', stageArgs));
  }
  /** Exec (JSON) form only: the argument vector, or undefined for the shell form. */
  const execForm = (i: Instruction | undefined, skip = 0): string[] | undefined => {
    if (i === undefined) return undefined;
    const text = i
      .getArguments()
      .slice(skip)
      .map((a) => a.getValue())
      .join(' ');
    try {
      const parsed = JSON.parse(text) as unknown;
      return Array.isArray(parsed) && parsed.every((x) => typeof x === 'string') ? parsed : undefined;
    } catch {
      return undefined;
    }
  };
  const healthcheck = of(final, 'HEALTHCHECK').at(-1);
  const flags = new Map<string, string>();
  for (const f of (healthcheck as unknown as { getFlags?: () => PropertyLike[] } | undefined)?.getFlags?.() ??
    []) {
    flags.set(f.getName(), f.getValue() ?? '');
  }
  return {
    dockerfile,
    stages,
    final,
    of,
    globalArgs,
    stageArgs,
    env,
    labels,
    entrypoint: execForm(of(final, 'ENTRYPOINT').at(-1)),
    cmd: execForm(of(final, 'CMD').at(-1)),
    healthcheck: healthcheck && {
      subcommand: healthcheck.getArguments()[0]?.getValue(),
      command: execForm(healthcheck, 1),
      flags,
    },
    volumes: of(final, 'VOLUME').flatMap((v) => execForm(v) ?? v.getArguments().map((a) => a.getValue())),
    users: of(final, 'USER').map((u) => argsText(u)),
  };
}
