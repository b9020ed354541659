/**
 * Status page benchmark (issue 10), in Debian's Chromium against the HTTP server on loopback with
 * the realistic state of the browser tests:
 * - first paint: first-contentful-paint and the time until the records table is filled
 *   (the page's own `ddnsw:records-rendered` mark), over fresh browser contexts (cold cache);
 * - transfer size: every byte the page loads (HTML, CSS, modules, icon; the SSE stream excluded),
 *   uncompressed, as the agent serves it;
 * - live latency: state pushed by the server → the page's DOM shows it, and → the next frame, over
 *   200 state changes through SSE, one at a time.
 * Figures are printed (docs/status-page.md keeps a copy); nothing fails on timing.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, launchChromium, openPage, waitForFirstState } from '../test/browser/chromium.js';
import { healthyState } from '../test/browser/fixtures.js';
import { type PageTarget, startFakeTarget } from '../test/browser/target.js';

const LOADS = 10;
const UPDATES = 200;
const lines: string[] = [];

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

function summary(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  return `p50 ${quantile(s, 0.5).toFixed(1)} ms, p99 ${quantile(s, 0.99).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
}

let browser: Browser;
let target: PageTarget;

describe.skipIf(!HAVE_CHROMIUM)('status page benchmark', () => {
  beforeAll(async () => {
    browser = await launchChromium();
    target = await startFakeTarget();
  });
  afterAll(async () => {
    await target?.close();
    await browser?.close();
    console.log(`\nStatus page on loopback (Chromium ${browser?.version() ?? '?'})\n${lines.join('\n')}\n`);
  });

  it('first paint and transfer size', async () => {
    const fcp: number[] = [];
    const filled: number[] = [];
    let bytes = new Map<string, number>();
    for (let i = 0; i < LOADS; i++) {
      const o = await openPage(browser, '');
      const sizes = new Map<string, number>();
      o.page.on('response', async (res) => {
        if (res.url().endsWith('/events')) return;
        sizes.set(new URL(res.url()).pathname, (await res.body()).length);
      });
      await o.page.goto(target.url);
      await waitForFirstState(o.page);
      const marks = await o.page.evaluate<{ fcp: number; filled: number }>(`(() => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        const filled = performance.getEntriesByName('ddnsw:records-rendered')[0];
        return { fcp: fcp ? fcp.startTime : NaN, filled: filled ? filled.startTime : NaN };
      })()`);
      fcp.push(marks.fcp);
      filled.push(marks.filled);
      bytes = sizes;
      expect(o.problems).toEqual([]);
      await o.close();
    }
    const total = [...bytes.values()].reduce((a, b) => a + b, 0);
    lines.push(`| first-contentful-paint (${LOADS} cold loads) | ${summary(fcp)} |`);
    lines.push(`| records table filled (${LOADS} cold loads) | ${summary(filled)} |`);
    lines.push(
      `| transfer size, uncompressed | ${(total / 1024).toFixed(1)} KiB in ${bytes.size} files (${[...bytes]
        .sort((a, b) => b[1] - a[1])
        .map(([p, n]) => `${p.slice(1) || 'index.html'} ${(n / 1024).toFixed(1)}`)
        .join(', ')}) |`,
    );
    expect(total).toBeGreaterThan(0);
  });

  it(`state change → page updated, ${UPDATES} changes through SSE`, async () => {
    const o = await openPage(browser, target.url);
    await waitForFirstState(o.page);
    // Notes, in the page, when each address appears in #ipv4: at the DOM change and at the next frame.
    await o.page.evaluate(`(() => {
      window.seen = {};
      const el = document.getElementById('ipv4');
      new MutationObserver(() => {
        const ip = el.textContent;
        const dom = performance.timeOrigin + performance.now();
        requestAnimationFrame(() => {
          window.seen[ip] = { dom, frame: performance.timeOrigin + performance.now() };
        });
      }).observe(el, { childList: true, characterData: true, subtree: true });
    })()`);
    const dom: number[] = [];
    const frame: number[] = [];
    for (let i = 0; i < UPDATES; i++) {
      const ip = `81.2.${70 + Math.floor(i / 250)}.${(i % 250) + 1}`;
      const doc = healthyState(Date.now(), ip);
      const sent = performance.timeOrigin + performance.now();
      target.push({ event: 'state', data: doc });
      // A function, not a string: the page's CSP forbids eval, and rightly so.
      const seen = await o.page.waitForFunction(
        (want) => (globalThis as unknown as { seen: Record<string, unknown> }).seen[want],
        ip,
        { polling: 'raf' },
      );
      const at = (await seen.jsonValue()) as { dom: number; frame: number };
      dom.push(at.dom - sent);
      frame.push(at.frame - sent);
    }
    lines.push(`| state pushed → DOM updated (${UPDATES} changes) | ${summary(dom)} |`);
    lines.push(`| state pushed → next frame (${UPDATES} changes) | ${summary(frame)} |`);
    expect(o.problems).toEqual([]);
    await o.close();
  });
});
