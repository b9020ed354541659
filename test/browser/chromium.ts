/**
 * Debian's Chromium (/usr/bin/chromium; .ci/run installs it) driven by playwright-core. No browser
 * is ever downloaded. Each launch gets a fresh profile (Playwright makes a temporary
 * --user-data-dir); background networking, updates and sync are off, so the browser sends nothing
 * beyond the loopback pages it is pointed at.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
}

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests so far. */
  problems: string[];
  close(): Promise<void>;
}

export async function openPage(
  browser: Browser,
  url: string,
  options: {
    viewport?: { width: number; height: number };
    colorScheme?: 'light' | 'dark';
    extraHTTPHeaders?: Record<string, string>;
  } = {},
): Promise<OpenedPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? DESKTOP,
    colorScheme: options.colorScheme ?? 'light',
    reducedMotion: 'reduce',
    ...(options.extraHTTPHeaders ? { extraHTTPHeaders: options.extraHTTPHeaders } : {}),
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    // A stream cut when the page or the server closes is not a problem of the page.
    if (!req.url().endsWith('/events'))
      problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
  });
  if (url) await page.goto(url);
  return { context, page, problems, close: () => context.close() };
}

/** Waits until the element's rendered text is exactly `text`. */
export async function waitForText(
  page: Page,
  selector: string,
  text: string | RegExp,
  timeout = 10_000,
): Promise<void> {
  const exact =
    typeof text === 'string' ? new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : text;
  await page.locator(selector).filter({ hasText: exact }).first().waitFor({ timeout });
}

/** Waits until a command's answer is shown. */
export async function waitForAnswer(page: Page): Promise<string> {
  await page.locator('#answer:not(:empty)').waitFor();
  return shown(page, '#answer');
}

/** The text of the focused element. */
export async function focusedText(page: Page): Promise<string> {
  return shownOf(page.locator(':focus'));
}

/** Waits until the first state has been drawn (the records table is filled). */
export async function waitForFirstState(page: Page): Promise<void> {
  await page.locator('#records tr').first().waitFor({ timeout: 10_000 });
}

const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core in the page. Its source is evaluated through the DevTools protocol (an inline
 * script tag would be refused by the page's CSP, as it should be).
 */
export async function axeFindings(page: Page): Promise<AxeFinding[]> {
  const source = await readFile(AXE_SOURCE, 'utf8');
  await page.evaluate(source);
  // A string, so the test code needs no DOM types: it runs in the page.
  return page.evaluate<AxeFinding[]>(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.join(' ')),
    })))`);
}

/** What a person reads in an element: Playwright's rendered text (line breaks included, hidden parts left out). */
export function shownOf(locator: Locator): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: this is Playwright's Locator.innerText (the rendered text), not the DOM property
  return locator.innerText();
}

export function shown(page: Page, selector: string): Promise<string> {
  return shownOf(page.locator(selector));
}
