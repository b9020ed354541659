/**
 * docs/troubleshooting.md against the source (issue 9.5). The source is read with the TypeScript
 * parser, not with a regex: every string the code can say — string and template literals, string
 * concatenations, and names of string constants resolved — with `\0` where a value is filled in.
 *
 * Direction 1 (strict): every message quoted in a `#### \`…\`` heading still exists in src/, its
 * fixed words in order within one string; `<…>` and `…` in the doc stand for what the code fills in.
 * Direction 2 (coverage): the doc mentions the first words of nearly every warn/error/fatal log
 * line whose message starts with fixed words; the test names the ones it misses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const HOLE = '\u0000';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

interface SourceText {
  /** Every string the code can produce, with HOLE for each filled-in value. */
  strings: string[];
  /** The message argument of each logger.warn/error/fatal call. */
  logCalls: Array<{ where: string; level: string; text: string }>;
}

function readSource(): SourceText {
  const strings: string[] = [];
  const logCalls: SourceText['logCalls'] = [];
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    // `const NAME = 'text'` (or a template) anywhere in the file: used where a message names it.
    const constants = new Map<string, ts.Expression>();
    const collect = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) {
        const list = n.parent;
        if (ts.isVariableDeclarationList(list) && list.flags & ts.NodeFlags.Const) {
          constants.set(n.name.text, n.initializer);
        }
      }
      ts.forEachChild(n, collect);
    };
    collect(sf);

    const textOf = (n: ts.Node, depth = 0): string | undefined => {
      if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
      if (ts.isTemplateExpression(n)) {
        return (
          n.head.text +
          n.templateSpans.map((s) => (textOf(s.expression, depth + 1) ?? HOLE) + s.literal.text).join('')
        );
      }
      if (ts.isParenthesizedExpression(n)) return textOf(n.expression, depth);
      if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.PlusToken) {
        const left = textOf(n.left, depth);
        const right = textOf(n.right, depth);
        if (left === undefined && right === undefined) return undefined;
        return (left ?? HOLE) + (right ?? HOLE);
      }
      if (ts.isIdentifier(n) && depth > 0 && depth < 4) {
        const init = constants.get(n.text);
        return init ? textOf(init, depth + 1) : undefined;
      }
      return undefined;
    };

    const visit = (n: ts.Node): void => {
      const isString =
        ts.isStringLiteral(n) ||
        ts.isNoSubstitutionTemplateLiteral(n) ||
        ts.isTemplateExpression(n) ||
        (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.PlusToken);
      if (isString) {
        const text = textOf(n);
        if (text !== undefined) strings.push(text);
      }
      if (
        ts.isCallExpression(n) &&
        ts.isPropertyAccessExpression(n.expression) &&
        ['warn', 'error', 'fatal'].includes(n.expression.name.text)
      ) {
        for (const arg of n.arguments) {
          const text = textOf(arg);
          if (text === undefined) continue;
          const line = sf.getLineAndCharacterOfPosition(n.getStart()).line + 1;
          logCalls.push({ where: `${file.slice(ROOT.length)}:${line}`, level: n.expression.name.text, text });
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return { strings, logCalls };
}

const squash = (s: string): string => s.replace(/\s+/g, ' ');

/** The messages quoted in the doc's `#### \`…\`` headings. */
function docMessages(doc: string): string[] {
  return [...doc.matchAll(/^#### `(.+)`\s*$/gm)].map((m) => m[1]!);
}

/** A doc message as a pattern: its fixed parts in order; `<…>` and `…` match anything. */
function messagePattern(message: string): RegExp {
  const fixed = squash(message)
    .split(/<[^<>]*>|…/)
    .filter((part) => /[A-Za-z]/.test(part))
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(fixed.join('[^]*?'));
}

/** The first words of a log message, up to its first filled-in value. */
function head(text: string, words = 6): string | undefined {
  const fixed = squash(text.split(HOLE)[0]!).trim().split(' ').filter(Boolean);
  if (fixed.length < 3) return undefined;
  return fixed.slice(0, words).join(' ');
}

const doc = readFileSync(join(ROOT, 'docs/troubleshooting.md'), 'utf8');
const source = readSource();

describe('docs/troubleshooting.md', () => {
  it('troubleshooting/source reading/finds log lines and resolves constants and concatenations', () => {
    expect(source.logCalls.length).toBeGreaterThan(40);
    const strings = source.strings.map(squash);
    // `${WHAT} needs SUPERVISOR_TOKEN…` with WHAT a constant of the same file.
    expect(
      strings.some((s) => s.startsWith('The Supervisor API (GET /services/mqtt) needs SUPERVISOR_TOKEN')),
    ).toBe(true);
    // A message built with `+` from several literals.
    expect(
      strings.some((s) => /The saved state holds times up to .* in the future .*NTP is running\./.test(s)),
    ).toBe(true);
    expect(messagePattern('Could not save <a> to <b>: x').test('Could not save \0 to \0: x y')).toBe(true);
    expect(messagePattern('Could not save <a> to <b>: z').test('Could not save \0 to \0: x y')).toBe(false);
  });

  it('troubleshooting/doc to source/every quoted message still exists in src', () => {
    const messages = docMessages(doc);
    expect(messages.length).toBeGreaterThan(60);
    const strings = source.strings.map(squash);
    const stale = messages.filter((m) => {
      const pattern = messagePattern(m);
      return !strings.some((s) => pattern.test(s));
    });
    expect(stale, `messages no longer in src/ (reworded?):\n${stale.join('\n')}`).toEqual([]);
  });

  it('troubleshooting/source to doc/nearly every warn, error and fatal line is covered', () => {
    const text = squash(doc);
    const heads = new Map<string, string>();
    for (const call of source.logCalls) {
      const h = head(call.text);
      if (h !== undefined && !heads.has(h)) heads.set(h, call.where);
    }
    expect(heads.size).toBeGreaterThan(30);
    const missing = [...heads].filter(([h]) => !text.includes(h)).map(([h, where]) => `${where}: ${h}`);
    const covered = 1 - missing.length / heads.size;
    expect(covered, `not in docs/troubleshooting.md:\n${missing.join('\n')}`).toBeGreaterThanOrEqual(0.9);
  });
});
