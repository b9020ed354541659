/**
 * Status page benchmark (issue 10), in Debian's Chromium against the HTTP server on loopback with
 * the realistic state of the browser tests:
 * - first paint: first-contentful-paint and the time until the records table is filled
 *   (the page's own `ddnsw:records-rendered` mark), over fresh browser contexts (cold cache);
 * - transfer size: every byte the page loads (HTML, CSS, modules, icon; the SSE stream excluded),
 *   uncompressed, as the agent serves it;
 * - live latency: state pushed by the server → the page's DOM shows it, and → the next frame, over
 *   200 state changes through SSE, one at a time.
 * Figures go to bench/results.ts (docs/status-page.md keeps a copy); nothing fails on timing.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, launchChromium, openPage, waitForFirstState } from '../test/browser/chromium.js';
import { healthyState } from '../test/browser/fixtures.js';
import { type PageTarget, startFakeTarget } from '../test/browser/target.js';
import { fmt, quantile, record, sorted } from './results.js';

const LOADS = 10;
const UPDATES = 200;
/** p50, p99 and max of `values` (ms). */
function summary(values: number[]): { p50: number; p99: number; max: number } {
  const s = sorted(values);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1]! };
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
    const paint = summary(fcp);
    const table = summary(filled);
    record('page.first-paint', {
      value: paint.p50,
      unit: 'ms',
      shown: `p50 ${fmt(paint.p50)} / max ${fmt(paint.max)} ms (records drawn: p50 ${fmt(table.p50)} ms)`,
      target: '—',
      met: null,
      extra: {
        loads: LOADS,
        fcp_max: paint.max,
        filled_p50: table.p50,
        filled_max: table.max,
        chromium: browser.version(),
      },
    });
    record('page.size', {
      value: total / 1000,
      unit: 'kB',
      shown: `${fmt(total / 1024)} KiB in ${bytes.size} files`,
      target: '< 100 KB',
      met: total < 100_000,
      extra: Object.fromEntries(
        [...bytes].sort((a, b) => b[1] - a[1]).map(([p, n]) => [p.slice(1) || 'index.html', n]),
      ),
    });
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
    const d = summary(dom);
    const f = summary(frame);
    record('page.sse', {
      value: d.p99,
      unit: 'ms',
      shown: `p50 ${fmt(d.p50)} / p99 ${fmt(d.p99)} ms (next frame p99 ${fmt(f.p99)} ms)`,
      target: 'p99 < 100 ms',
      met: d.p99 < 100,
      extra: { changes: UPDATES, dom_max: d.max, frame_p50: f.p50, frame_p99: f.p99, frame_max: f.max },
    });
    expect(o.problems).toEqual([]);
    await o.close();
  });
});
