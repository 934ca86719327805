import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli.ts';
import { ALICE, BOB, MESSAGE, startConsole, type ConsoleFixture } from './helpers/console.ts';
import { FULL } from './helpers/tier.ts';
import { tempDir } from './helpers/workspace.ts';

/**
 * The console in a real browser: Debian's Chromium (`apt-get install -y chromium`) driven by
 * Playwright. No browser is ever downloaded; without /usr/bin/chromium these tests are skipped.
 */
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`console browser tests skipped: ${CHROMIUM} is absent (install it with: apt-get update && apt-get install -y chromium)`);

/** The README's screenshots are rewritten only when asked (BOTC_UPDATE_SCREENSHOTS=1), else they go to a temp folder. */
const SHOTS = process.env.BOTC_UPDATE_SCREENSHOTS === '1' ? path.join(REPO_ROOT, 'docs/screenshots') : tempDir('botc-console-shots-');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let fx: ConsoleFixture;
let context: BrowserContext;
let acmeConfirmation: string;

// A real browser is a system test: it runs with BOTC_FULL=1 (`.ci/run`, `npm run test:full`).
describe.runIf(FULL && HAVE_CHROMIUM)('console in Chromium', () => {
  beforeAll(async () => {
    fx = await startConsole();
    context = await chromium.launchPersistentContext(tempDir('botc-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(SHOTS, { recursive: true });
    acmeConfirmation = await fx.propose('acme', 'alice');
    await fx.importRecords('acme', [{ id: 'issue-41', title: 'Webhook deliveries time out', state: 'open' }, { id: 'issue-42', title: 'Spam', state: 'open' }]);
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    await fx?.close();
  });

  /** A fresh page signed in as `who`, with the keyboard only. */
  async function signedIn(who: { tenant: string; name: string; secret: string }, viewport = { width: 1280, height: 900 }): Promise<Page> {
    await context.clearCookies();
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    await page.goto(`${fx.base}/login`);
    // The first field has focus; the rest is typing and Tab.
    await page.keyboard.type(who.tenant);
    await page.keyboard.press('Tab');
    await page.keyboard.type(who.name);
    await page.keyboard.press('Tab');
    await page.keyboard.type(who.secret);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${fx.base}/confirmations`, { timeout: 4000 });
    return page;
  }

  async function axeSerious(page: Page): Promise<{ id: string; impact: string; nodes: number }[]> {
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const result = await (globalThis as unknown as { axe: { run: () => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe.run();
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    });
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  }

  it('signs in, shows the pending Slack message, approves it, and it arrives at Slack', async () => {
    const login = await context.newPage();
    await context.clearCookies();
    await login.goto(`${fx.base}/login`);
    await login.screenshot({ path: path.join(SHOTS, 'login.png') });
    await login.close();
    const page = await signedIn(ALICE);
    await expect(page.getByRole('heading', { name: 'Confirmations' }).isVisible()).resolves.toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'confirmations.png'), fullPage: true });
    await page.getByRole('link', { name: 'slack.chat.post_message.v1' }).first().click();
    await page.getByRole('figure', { name: 'Slack message' }).waitFor();
    expect(await page.getByRole('figure', { name: 'Slack message' }).innerText()).toContain(MESSAGE.text);
    expect(await page.content()).not.toContain('xoxb-');
    await page.screenshot({ path: path.join(SHOTS, 'confirmation.png'), fullPage: true });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Approve and send' }).click();
    await page.getByText('Approved and sent.').waitFor();
    expect(fx.slack.posted).toEqual([expect.objectContaining({ channel: MESSAGE.channel, text: MESSAGE.text })]);
    await page.screenshot({ path: path.join(SHOTS, 'confirmation-sent.png'), fullPage: true });
    await page.close();
  });

  it('rejects an imported record', async () => {
    const page = await signedIn(ALICE);
    await page.getByRole('link', { name: 'Review queue' }).click();
    await page.screenshot({ path: path.join(SHOTS, 'reviews.png'), fullPage: true });
    await page.getByRole('button', { name: 'Reject issue-42' }).click();
    await page.getByText('Rejected issue-42.').waitFor();
    const [record] = (await fx.store.listReviews({ tenant: 'acme' })).filter((r) => r.record_key === 'issue-42');
    expect(record).toMatchObject({ status: 'rejected', decided_by: 'alice' });
    await page.close();
  });

  it('shows the bundle with its prompt blocks marked by kind and source file', async () => {
    const page = await signedIn(ALICE);
    await page.getByRole('link', { name: 'Bundles' }).click();
    await page.getByRole('link', { name: 'support_triage' }).click();
    await page.locator('details summary').first().click();
    expect(await page.locator('.block-label').first().innerText()).toMatch(/^(personality|expert|skill|tool|common) · \S+/);
    await page.screenshot({ path: path.join(SHOTS, 'bundle.png'), fullPage: false });
    await page.close();
  });

  it("does not reach another tenant's confirmation by URL guessing", async () => {
    const page = await signedIn(BOB);
    expect(await page.content()).not.toContain(acmeConfirmation);
    const response = await page.goto(`${fx.base}/confirmations/${acmeConfirmation}`);
    expect(response?.status()).toBe(404);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    await page.close();
  });

  const AXE_PAGES = ['/login', '/confirmations', '/confirmations/:pending', '/reviews', '/audit', '/bundles', '/bundles/support_triage'];

  it.each(AXE_PAGES)('%s: no serious axe violations, and every control has a label', async (pathname) => {
    const page = pathname === '/login' ? await context.newPage() : await signedIn(ALICE);
    if (pathname === '/login') await context.clearCookies();
    await page.goto(`${fx.base}${pathname.replace(':pending', acmeConfirmation)}`);
    expect(await axeSerious(page), pathname).toEqual([]);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
      .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label') && !(el.textContent ?? '').trim())
      .map((el) => el.outerHTML));
    expect(unlabelled, pathname).toEqual([]);
    await page.close();
  });

  it('is usable with the keyboard: skip link first, then the navigation', async () => {
    const page = await signedIn(ALICE);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Confirmations');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${fx.base}/reviews`);
    await page.close();
  });

  it.each([[1280, 900], [375, 812]] as const)('fits %i px wide without sideways scrolling', async (width, height) => {
    const page = await signedIn(ALICE, { width, height });
    for (const pathname of ['/confirmations', `/confirmations/${acmeConfirmation}`, '/reviews', '/audit', '/bundles/support_triage']) {
      await page.goto(`${fx.base}${pathname}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${pathname} at ${width}px`).toBeLessThanOrEqual(0);
    }
    if (width < 600) {
      await page.goto(`${fx.base}/confirmations/${acmeConfirmation}`);
      await page.screenshot({ path: path.join(SHOTS, 'phone-confirmation.png'), fullPage: true });
    }
    await page.close();
  });

  it('reports a tampered audit log with its first bad entry', async () => {
    const page = await signedIn(ALICE);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByText('Chain verified').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'audit.png'), fullPage: false });
    const db = new Database(fx.stateFile);
    db.exec('DROP TRIGGER botc_audit_no_update');
    db.prepare("UPDATE botc_audit SET actor = 'user:mallory' WHERE tenant = 'acme' AND seq = 3").run();
    db.close();
    await page.reload();
    const alert = page.getByRole('alert');
    expect(await alert.innerText()).toContain('Chain broken at entry #3');
    await page.screenshot({ path: path.join(SHOTS, 'audit-tampered.png'), fullPage: false });
    await page.close();
  });
});
