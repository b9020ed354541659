/**
 * Who can see the status page, and where (SPEC §9): under Home Assistant's Ingress path prefix
 * every asset and call still works; with `http_token` set nothing is shown without the token, the
 * login form lets a person in, and a session that ends while the page is open brings the form back.
 */
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  HAVE_CHROMIUM,
  launchChromium,
  type OpenedPage,
  openPage,
  shown,
  waitForAnswer,
  waitForFirstState,
} from './chromium.js';
import { type IngressProxy, startIngressProxy } from './ingress-proxy.js';
import { FAKE_ANSWERS, type PageTarget, startTarget, TARGET_KIND } from './target.js';

const fakeOnly = TARGET_KIND !== 'fake';
const TOKEN = 'page-test-token-3f9a1c7e5b2d4086';
const UNAUTHORIZED_DOCUMENT =
  'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)';

let browser: Browser;
let target: PageTarget | undefined;
let proxy: IngressProxy | undefined;
let opened: OpenedPage | undefined;

/** Takes out the console lines a test caused on purpose (each exactly once), so the rest must be empty. */
function expectAndDrop(problems: string[], line: string, times: number): void {
  expect(problems.filter((p) => p === line)).toHaveLength(times);
  for (let i = problems.indexOf(line); i >= 0; i = problems.indexOf(line)) problems.splice(i, 1);
}

describe.skipIf(!HAVE_CHROMIUM)('status page access', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    const problems = opened?.problems ?? [];
    await opened?.close();
    await proxy?.close();
    await target?.close();
    opened = undefined;
    proxy = undefined;
    target = undefined;
    expect(problems, 'console errors, page errors or failed requests').toEqual([]);
  });

  it.skipIf(fakeOnly)(
    'ingress/under the path prefix every asset, the stream and the commands work',
    async () => {
      // The add-on serves only the Supervisor's proxy; here the proxy on loopback plays it.
      target = await startTarget({ addon: true, clientAddress: () => '172.30.32.2' });
      proxy = await startIngressProxy(target.url);
      opened = await openPage(browser, proxy.url);
      const { page } = opened;
      await waitForFirstState(page);
      expect(await page.locator('#records tr').count()).toBe(5);
      await page.locator('#sync').click();
      expect(await waitForAnswer(page)).toBe(`Sync DNS: ${FAKE_ANSWERS.sync.message}`);
      expect(target.commands.map((c) => c.name)).toEqual(['sync']);

      expect(proxy.outside).toEqual([]);
      const asked = new Set(proxy.seen.map((p) => p.slice(proxy!.prefix.length)));
      for (const path of [
        '/',
        '/style.css',
        '/icon.svg',
        '/main.js',
        '/render.js',
        '/events',
        '/api/command/sync',
      ]) {
        expect(asked, `${path} through the prefix`).toContain(path);
      }
      // Links stay under the prefix too.
      const links = await page
        .locator('a[href]')
        .evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
      for (const href of links) expect(href.startsWith(proxy.url)).toBe(true);
    },
  );

  it('token/nothing is shown or done without the token', async () => {
    target = await startTarget({ token: TOKEN });
    opened = await openPage(browser, target.url);
    const { page } = opened;
    await page.locator('input[name="token"]').waitFor();
    expect(await page.locator('#records').count()).toBe(0);
    expect(await page.content()).not.toContain('81.2.69');
    for (const path of ['', 'state', 'events', 'main.js', 'render.js', 'metrics']) {
      const res = await request(`${target.url}${path}`, { headers: { accept: 'application/json' } });
      expect(res.statusCode, path).toBe(401);
      expect(await res.body.text()).not.toContain('81.2.69');
    }
    const post = await request(`${target.url}api/command/reboot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    await post.body.text();
    expect(post.statusCode).toBe(401);
    expect(target.commands).toEqual([]);
    expectAndDrop(opened.problems, UNAUTHORIZED_DOCUMENT, 1);
  });

  it('token/the login form lets a person in, and the page then works', async () => {
    target = await startTarget({ token: TOKEN });
    opened = await openPage(browser, target.url);
    const { page } = opened;
    await page.locator('input[name="token"]').fill('not-the-token');
    await page.locator('button[type="submit"]').click();
    await page.getByRole('alert').waitFor();
    expect(await shown(page, '[role="alert"]')).toBe('That is not the http_token set in the options.');

    await page.locator('input[name="token"]').fill(TOKEN);
    await page.locator('button[type="submit"]').click();
    await waitForFirstState(page);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('live');
    if (TARGET_KIND === 'fake') {
      await page.locator('#sync').click();
      expect(await waitForAnswer(page)).toBe(`Sync DNS: ${FAKE_ANSWERS.sync.message}`);
      expect(target.commands.map((c) => c.name)).toEqual(['sync']);
    }
    expectAndDrop(opened.problems, UNAUTHORIZED_DOCUMENT, 2);
  });

  it.skipIf(fakeOnly)(
    'token/a session that ends while the page is open brings the login form back',
    async () => {
      target = await startTarget({ token: TOKEN });
      proxy = await startIngressProxy(target.url, { preserveHost: true });
      opened = await openPage(browser, proxy.url);
      const { page, context } = opened;
      await page.locator('input[name="token"]').fill(TOKEN);
      await page.locator('button[type="submit"]').click();
      await waitForFirstState(page);
      // As after an agent restart: the cookie no longer opens anything, and the stream drops.
      await context.clearCookies();
      proxy.cutStreams();
      await page.locator('#login').waitFor({ state: 'visible', timeout: 15_000 });
      expect(await page.locator('#conn').getAttribute('data-state')).toBe('unauthorized');
      expect(await shown(page, '#banner-conn')).toBe(
        'Live updates stopped: this page needs the http_token again (log in below).',
      );
      await page.locator('#token').fill(TOKEN);
      await page.locator('#login button[type="submit"]').click();
      await page.waitForURL(proxy.url);
      await waitForFirstState(page);
      expect(await page.locator('#login').isHidden()).toBe(true);
      // The login page itself, the refused stream, and the page asking `state` why: Chromium logs each.
      expectAndDrop(opened.problems, UNAUTHORIZED_DOCUMENT, 3);
      expectAndDrop(
        opened.problems,
        'console: Failed to load resource: net::ERR_INCOMPLETE_CHUNKED_ENCODING',
        1,
      );
    },
  );
});
