/**
 * How the status page looks and reads: axe-core finds nothing serious or critical in light or dark,
 * on a normal day or in an outage, with the Reboot dialog open too; and screenshots at phone and
 * desktop widths in both schemes are written under test-output/screenshots/ (with
 * UPDATE_SCREENSHOTS=1 the desktop light one is also copied to docs/images/status-page.png, which
 * the README shows).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  axeFindings,
  DESKTOP,
  HAVE_CHROMIUM,
  launchChromium,
  type OpenedPage,
  openPage,
  PHONE,
  waitForFirstState,
  waitForText,
} from './chromium.js';
import { healthyState, ipChangedEvent, wanDownState } from './fixtures.js';
import { type PageTarget, startFakeTarget } from './target.js';

const ROOT = join(import.meta.dirname, '..', '..');
export const SCREENSHOT_DIR = join(ROOT, 'test-output', 'screenshots');

let browser: Browser;
let target: PageTarget | undefined;
let opened: OpenedPage | undefined;

/**
 * An hour of latency samples, as if the page had been open that long (the page keeps them in
 * sessionStorage): router around 2 ms, WAN around 25 ms with a slow patch and two failed rounds.
 */
async function seedLatency(page: Page): Promise<void> {
  const now = Date.now();
  const samples = [];
  for (let i = 240; i >= 1; i--) {
    const wave = Math.sin(i / 7) + Math.sin(i / 3.1) * 0.5;
    const slow = i > 90 && i < 110 ? 45 : 0;
    samples.push({
      t: now - i * 15_000,
      router: Math.round((1.9 + wave * 0.4) * 10) / 10,
      wan: i === 100 || i === 101 ? false : Math.round(24 + wave * 4 + slow),
    });
  }
  await page.addInitScript({
    content: `sessionStorage.setItem('ddns-watchdog:latency', ${JSON.stringify(JSON.stringify(samples))});`,
  });
}

async function openAt(
  viewport: { width: number; height: number },
  colorScheme: 'light' | 'dark',
  state = healthyState(),
): Promise<Page> {
  target ??= await startFakeTarget({ initial: state });
  opened = await openPage(browser, '', { viewport, colorScheme });
  await seedLatency(opened.page);
  await opened.page.goto(target.url);
  await waitForFirstState(opened.page);
  return opened.page;
}

describe.skipIf(!HAVE_CHROMIUM)('status page look', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    const problems = opened?.problems ?? [];
    await opened?.close();
    await target?.close();
    opened = undefined;
    target = undefined;
    expect(problems, 'console errors, page errors or failed requests').toEqual([]);
  });

  for (const scheme of ['light', 'dark'] as const) {
    for (const [name, state] of [
      ['normal day', healthyState],
      ['WAN down', wanDownState],
    ] as const) {
      it(`axe/${scheme}/${name}/no serious or critical findings`, async () => {
        const page = await openAt(DESKTOP, scheme, state());
        target!.push({ event: 'event', data: ipChangedEvent() });
        await page.locator('#activity li:not(.empty)').waitFor();
        await page.locator('#sync').click();
        await page.locator('#answer:not(:empty)').waitFor();
        const findings = await axeFindings(page);
        const serious = findings.filter((f) => f.impact === 'serious' || f.impact === 'critical');
        expect(serious).toEqual([]);
        // With the confirmation open, too.
        await page.locator('#reboot').click();
        await page.locator('#reboot-dialog').waitFor();
        const inDialog = (await axeFindings(page)).filter(
          (f) => f.impact === 'serious' || f.impact === 'critical',
        );
        expect(inDialog).toEqual([]);
        await page.keyboard.press('Escape');
      });
    }
  }

  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`screenshots/${size}/${scheme}`, async () => {
        const page = await openAt(viewport, scheme);
        target!.push({ event: 'event', data: ipChangedEvent(Date.now() - 120_000) });
        target!.push({
          event: 'event',
          data: {
            type: 'dns_updated',
            at: new Date(Date.now() - 110_000).toISOString(),
            record: 'home.example.com',
            record_type: 'A',
            old: '81.2.69.160',
            new: '81.2.69.192',
            action: 'update',
          },
        });
        await page.locator('#activity li:not(.empty)').nth(1).waitFor();
        expect(await page.locator('#spark-wan path.line').count()).toBe(1);
        expect(await page.locator('#spark-wan rect.fail').count()).toBe(2);
        await waitForText(page, '#lat-wan-stats', /^240 probes: median \d+ ms, highest \d+ ms, 2 failed\.$/);
        // The page fits the width: nothing scrolls sideways.
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - innerWidth');
        expect(overflow).toBeLessThanOrEqual(0);
        await mkdir(SCREENSHOT_DIR, { recursive: true });
        const file = join(SCREENSHOT_DIR, `${size}-${scheme}.png`);
        await page.screenshot({ path: file, fullPage: true });
        if (size === 'desktop' && scheme === 'light' && process.env.UPDATE_SCREENSHOTS === '1') {
          await mkdir(join(ROOT, 'docs', 'images'), { recursive: true });
          await copyFile(file, join(ROOT, 'docs', 'images', 'status-page.png'));
        }
      });
    }
  }

  it('screenshots/phone/light/WAN down', async () => {
    const page = await openAt(PHONE, 'light', wanDownState());
    await page.locator('#banner-down').waitFor();
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'phone-light-wan-down.png'), fullPage: true });
  });
});
