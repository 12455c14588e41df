/**
 * The chat app in a real browser: Debian's Chromium driven by playwright-core, against the app on
 * a real database. Skipped, saying why, where /usr/bin/chromium is not installed.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startApp } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(`chat-app browser test skipped: ${CHROMIUM} not found (apt-get install chromium)`);

const PAGE_SIZE = 20;
/** `expect.poll` with room for a loaded machine (its default gives up after 1 s). */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });
const SEEDED = 90;
const note = (i: number): string => `Seeded note ${String(i).padStart(3, '0')}`;

describe.skipIf(!hasChromium)(
  hasChromium ? 'chat app in Chromium' : `chat app in Chromium (skipped: ${CHROMIUM} not found)`,
  () => {
    let app: Harness;
    let browser: Browser;
    let nurse: { id: string; username: string; password: string };
    let admin: { id: string; username: string; password: string };
    let patient: { id: string; username: string; password: string };
    let clinician: { id: string; username: string; password: string };
    const pageErrors: string[] = [];

    beforeAll(async () => {
      app = await startApp({ pageSize: PAGE_SIZE });
      nurse = await app.user('nurse');
      admin = await app.user('admin');
      await app.cb.chat.appendMany(
        Array.from({ length: SEEDED }, (_, i) => ({
          userId: nurse.id,
          role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
          content: note(i + 1),
        })),
      );
      // More audit entries than one page of the admin view holds, so it has older ones to load.
      for (let i = 0; i < 30; i += 1) {
        await app.cb.audit.log({ action: 'ward.chart_view', resourceType: 'chart', resourceId: `bed-${i}` });
      }
      // A patient's conversation shared with a clinician (as the demo seed does).
      patient = await app.user('patient');
      clinician = await app.user('clinician');
      const shared = await app.cb.chat.createConversation({ userId: patient.id, title: 'My dressing' });
      await app.cb.chat.addParticipant({
        userId: patient.id,
        conversationId: shared.id,
        participantId: clinician.id,
        role: 'member',
      });
      await app.cb.chat.append({
        userId: patient.id,
        conversationId: shared.id,
        role: 'user',
        content: 'The dressing on my leg is wet at the edges.',
      });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    });

    afterAll(async () => {
      await browser?.close();
      await app?.close();
    });

    async function logIn(page: Page, user: { username: string; password: string }): Promise<void> {
      await page.getByLabel('Username').fill(user.username);
      await page.getByLabel('Password').fill(user.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    const messages = (page: Page) => page.locator('#messages > li');

    it('logs in, scrolls back through history, chats, searches, and shows the admin view', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error' && !/status of 401/.test(message.text()))
          pageErrors.push(message.text());
      });

      await page.goto(app.url);
      await logIn(page, nurse);

      // The newest page, newest message at the bottom and in view; the oldest not loaded yet.
      await poll(() => messages(page).count()).toBe(PAGE_SIZE);
      await page.getByText(note(SEEDED), { exact: true }).waitFor();
      expect(await page.getByText(note(SEEDED), { exact: true }).isVisible()).toBe(true);
      expect(await page.getByText(note(1), { exact: true }).count()).toBe(0);

      // Scrolling to the top loads older pages, one at a time, until the start of the history.
      const seen: number[] = [];
      for (let round = 0; round < 10 && seen.at(-1) !== SEEDED; round += 1) {
        const before = await messages(page).count();
        await page.locator('#chat-scroll').evaluate((element) => {
          element.scrollTop = 0;
        });
        await poll(() => messages(page).count()).toBeGreaterThan(before);
        seen.push(await messages(page).count());
      }
      expect(seen).toEqual([40, 60, 80, 90]);
      await page.getByText('Start of your history').waitFor();
      const texts = await page.locator('#messages .message__body').allTextContents();
      expect(texts).toEqual(Array.from({ length: SEEDED }, (_, i) => note(i + 1)));

      // Sending a message shows the question and the assistant's answer.
      await page.getByLabel('Your question').fill('How do I lower the falls risk at night?');
      await page.getByLabel('Your question').press('Enter');
      await page.locator('.message--assistant', { hasText: 'Falls risk:' }).waitFor();
      expect(await page.locator('.message--user', { hasText: 'lower the falls risk' }).count()).toBe(1);

      // A reload keeps the session (HttpOnly cookie) and shows the history, newest included.
      await page.reload();
      await page.locator('.message--assistant', { hasText: 'Falls risk:' }).waitFor();
      expect(await page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(false);
      expect(await page.evaluate('document.cookie')).toBe(''); // HttpOnly: not readable by scripts

      // Search highlights the hit.
      await page.getByLabel('Search your chat').fill('falls');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.locator('#search-results mark').first().waitFor();
      const marks = await page.locator('#search-results mark').allTextContents();
      expect(marks.length).toBeGreaterThan(0);
      expect(marks.every((mark) => /^fall/i.test(mark))).toBe(true);
      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/chat-app.png' });

      // Sign out, sign in as the admin: the chart has bars and the audit trail has rows.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await logIn(page, admin);
      await page.getByRole('link', { name: 'Admin' }).click();
      await page.locator('#chart svg rect').first().waitFor();
      expect(await page.locator('#chart svg rect').count()).toBeGreaterThan(0);
      const label = (await page.locator('#chart svg').getAttribute('aria-label')) ?? '';
      expect(label).toMatch(/auth\.login \d+/);
      expect(label).toMatch(/chat\.message_sent 1\b/);
      // The usage dashboard: four SVG charts drawn from the measures, the funnel and retention.
      await page.locator('#dash-retention svg').waitFor();
      const chart = async (id: string) => (await page.locator(`#${id} svg`).getAttribute('aria-label')) ?? '';
      expect(await page.locator('#dashboard svg').count()).toBe(4);
      expect(await chart('dash-tokens')).toMatch(/^Tokens per day: .*\b[1-9]\d*$/);
      expect(await chart('dash-latency')).toMatch(/^p95 answer latency per day: \d{2}-\d{2} \d+/);
      expect(await chart('dash-funnel')).toMatch(
        /auth\.login [1-9]\d*, chat\.message_sent 1, chat\.search 1$/,
      );
      expect(await chart('dash-retention')).toMatch(/^Weekly retention: .*[1-9]\d* users, returned 1/);
      expect(await page.locator('#dash-tokens svg rect').count()).toBeGreaterThan(10);
      // The usage ledger panel: today's answer (the falls question) with its tokens and USD cost.
      await page.locator('#usage-chart svg').waitFor();
      expect(await page.locator('#usage-totals').textContent()).toMatch(
        /^1 answers, [1-9]\d* tokens .*\$0\.\d+$/,
      );
      expect(await page.locator('#usage-chart svg').getAttribute('aria-label')).toMatch(
        / [1-9]\d* tokens \$0\.\d+$/,
      );
      expect(await page.locator('#usage-models tr td').first().textContent()).toBe('keyword-rules-1');
      await page
        .locator('#usage-title')
        .locator('..')
        .screenshot({ path: 'test-artifacts/chat-app-usage.png' });
      await page.locator('#audit-rows tr').first().waitFor();
      const rows = await page.locator('#audit-rows tr').count();
      expect(rows).toBe(25);
      await page.screenshot({ path: 'test-artifacts/chat-app-admin.png' });
      await page.getByRole('button', { name: 'Load older entries' }).click();
      await poll(() => page.locator('#audit-rows tr').count()).toBeGreaterThan(rows);

      expect(pageErrors).toEqual([]);
      await context.close();
    }, 120_000);

    async function newPage() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error' && !/status of 40[19]/.test(message.text()))
          pageErrors.push(message.text());
      });
      await page.goto(app.url);
      return { context, page };
    }

    const sidebar = (page: Page) => page.locator('#conv-list .conv__title');

    it('sidebar: a new conversation, renamed, archived and restored', async () => {
      const { context, page } = await newPage();
      await logIn(page, nurse);
      await poll(() => sidebar(page).allTextContents()).toEqual(['My chat']);
      await page.getByRole('button', { name: 'New conversation' }).click();
      await poll(() => sidebar(page).count()).toBe(2);
      await poll(() => page.locator('#chat-title').textContent()).toBe('New conversation');
      expect(await messages(page).count()).toBe(0);

      await page.getByLabel('Your question').fill('Where do we keep the gloves?');
      await page.getByLabel('Your question').press('Enter');
      await page.locator('.message--assistant', { hasText: 'Hand hygiene:' }).waitFor();
      expect(await messages(page).count()).toBe(2);

      await page.getByRole('button', { name: 'Rename New conversation' }).click();
      await page.getByLabel('New title').fill('Glove supplies');
      await page.getByLabel('New title').press('Enter');
      await poll(() => sidebar(page).allTextContents()).toEqual(['Glove supplies', 'My chat']);
      await poll(() => page.locator('#chat-title').textContent()).toBe('Glove supplies');
      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/chat-app-sidebar.png' });

      // Archiving the open conversation opens the default one; the archived list holds it.
      await page.getByRole('button', { name: 'Archive Glove supplies' }).click();
      await poll(() => sidebar(page).allTextContents()).toEqual(['My chat']);
      await poll(() => page.locator('#chat-title').textContent()).toBe('My chat');
      await page.getByText(note(SEEDED), { exact: true }).waitFor();
      await page.locator('#conv-archived-box summary').click();
      expect(await page.locator('#conv-archived .conv__title').allTextContents()).toEqual(['Glove supplies']);
      await page.getByRole('button', { name: 'Restore Glove supplies' }).click();
      await poll(() => sidebar(page).allTextContents()).toEqual(['Glove supplies', 'My chat']);
      await page.locator('.message--user', { hasText: 'Where do we keep the gloves?' }).waitFor();
      expect(await page.locator('#conv-archived-box').isHidden()).toBe(true);

      // A reload keeps all of it: the server has the titles and the archive state.
      await page.reload();
      await poll(() => sidebar(page).allTextContents()).toEqual(['Glove supplies', 'My chat']);
      expect(pageErrors).toEqual([]);
      await context.close();
    }, 120_000);

    it('shared conversation: the clinician reads the patient’s thread and replies; the patient sees it', async () => {
      const { context, page } = await newPage();
      await logIn(page, clinician);
      await page.locator('#conv-list .conv__meta', { hasText: `shared by ${patient.username}` }).waitFor();
      await page
        .getByRole('button', { name: /My dressing/ })
        .first()
        .click();
      await page.locator('.message--other', { hasText: 'wet at the edges' }).waitFor();
      expect(await page.locator('.message--other .message__meta').first().textContent()).toMatch(
        new RegExp(`^${patient.username} · `),
      );
      // The participants load on their own request, after or before the history: wait for them.
      await poll(() => page.locator('#chat-people').textContent()).toBe(
        `Shared: you and ${patient.username} (owner)`,
      );
      await page.getByLabel('Your question').fill('Please come to the clinic this afternoon.');
      await page.getByLabel('Your question').press('Enter');
      await page
        .locator('.message--user:not(.message--other)', { hasText: 'clinic this afternoon' })
        .waitFor();
      // A clinician's reply is theirs: the assistant does not answer it.
      await poll(() => messages(page).count()).toBe(2);
      await page.screenshot({ path: 'test-artifacts/chat-app-shared-clinician.png' });

      await page.getByRole('button', { name: 'Sign out' }).click();
      await logIn(page, patient);
      await page
        .getByRole('button', { name: /My dressing/ })
        .first()
        .click();
      await page.locator('.message--other', { hasText: 'clinic this afternoon' }).waitFor();
      expect(await page.locator('.message--other .message__meta').first().textContent()).toMatch(
        new RegExp(`^${clinician.username} · `),
      );
      await page.screenshot({ path: 'test-artifacts/chat-app-shared-patient.png' });
      expect(pageErrors).toEqual([]);
      await context.close();
    }, 120_000);

    it('branches: an edit shows < 2/2 >, switching back shows the original; regenerate', async () => {
      const { context, page } = await newPage();
      await logIn(page, nurse);
      await poll(() => sidebar(page).count()).toBeGreaterThan(0);
      await page.getByRole('button', { name: 'New conversation' }).click();
      await poll(() => page.locator('#chat-title').textContent()).toBe('New conversation');
      await page.getByLabel('Your question').fill('How often should I reposition bed 9?');
      await page.getByLabel('Your question').press('Enter');
      await page.locator('.message--assistant', { hasText: 'Pressure-injury prevention' }).waitFor();

      // Edit the question: a second version with its own answer; the arrows say 2/2.
      await page.getByRole('button', { name: 'Edit this question' }).click();
      await page.getByLabel('Edited question').fill('What should I check after a fall in bed 9?');
      await page.getByRole('button', { name: 'Save and ask' }).click();
      await page.locator('.message--assistant', { hasText: 'Falls risk:' }).waitFor();
      const question = page.locator('.message--user').first();
      await poll(() => question.locator('.branch__count').textContent()).toBe('2/2');
      expect(await page.locator('#messages .message__body').allTextContents()).toEqual([
        'What should I check after a fall in bed 9?',
        expect.stringMatching(/^Falls risk:/),
      ]);
      await page.screenshot({ path: 'test-artifacts/chat-app-branch-2of2.png' });

      // Back to version 1: the original question and its original answer.
      await question.getByRole('button', { name: 'Previous version' }).click();
      await poll(() => question.locator('.branch__count').textContent()).toBe('1/2');
      await expect
        .poll(() => page.locator('#messages .message__body').allTextContents())
        .toEqual([
          'How often should I reposition bed 9?',
          expect.stringMatching(/^Pressure-injury prevention/),
        ]);
      expect(await question.getByRole('button', { name: 'Previous version' }).isDisabled()).toBe(true);
      await page.screenshot({ path: 'test-artifacts/chat-app-branch-1of2.png' });

      // Regenerate the answer: the answer's arrows say 2/2, the question keeps 1/2.
      await page.getByRole('button', { name: 'Regenerate this answer' }).click();
      const answer = page.locator('.message--assistant').first();
      await poll(() => answer.locator('.branch__count').textContent()).toBe('2/2');
      expect(await answer.locator('.message__body').textContent()).toMatch(
        /^Here is the same advice put another way/,
      );
      expect(await question.locator('.branch__count').textContent()).toBe('1/2');

      expect(pageErrors).toEqual([]);
      await context.close();
    }, 120_000);

    it('a drug question shows the formulary lookup as a collapsed card that opens to its result', async () => {
      const { context, page } = await newPage();
      await logIn(page, nurse);
      await poll(() => sidebar(page).count()).toBeGreaterThan(0);
      const before = await sidebar(page).count();
      await page.locator('#conv-new').click();
      // Settled on the new conversation (the sidebar reloaded, the pane empty) before asking, as
      // the sidebar test does: under load a late reload could otherwise redraw the pane.
      await poll(() => sidebar(page).count()).toBe(before + 1);
      await poll(() => page.locator('#chat-title').textContent()).toBe('New conversation');
      await poll(() => messages(page).count()).toBe(0);
      await page.getByLabel('Your question').fill('What is the maximum dose of paracetamol?');
      await page.getByLabel('Your question').press('Enter');
      const card = page.locator('.message--assistant .tool-card');
      await card.waitFor({ timeout: 60_000 });
      expect(await card.count()).toBe(1);
      expect(await card.locator('summary').textContent()).toBe('Tool: formulary_lookup(paracetamol) · ok');
      expect(await card.locator('pre').first().isVisible()).toBe(false);
      await card.locator('summary').click();
      await poll(() => card.locator('pre').last().isVisible()).toBe(true);
      expect(JSON.parse((await card.locator('pre').first().textContent()) ?? '{}')).toEqual({
        drug: 'paracetamol',
      });
      expect(JSON.parse((await card.locator('pre').last().textContent()) ?? '{}')).toMatchObject({
        drug: 'paracetamol',
        maxPer24h: expect.stringMatching(/^4 g/),
      });
      expect(await page.locator('.message--assistant .message__body').textContent()).toMatch(
        /^Formulary lookup for paracetamol/,
      );

      // Still a card after a reload (read back from the stored parts, not the send's response).
      await page.reload();
      await poll(() => sidebar(page).count()).toBeGreaterThan(1);
      // The newest conversation is listed first; the reload opened the default one.
      await page.locator('#conv-list .conv__open').first().click();
      const reloaded = page.locator('.message--assistant .tool-card');
      await reloaded.waitFor();
      expect(await reloaded.locator('summary').textContent()).toBe(
        'Tool: formulary_lookup(paracetamol) · ok',
      );
      await reloaded.locator('summary').click();
      await poll(() => reloaded.locator('pre').last().isVisible()).toBe(true);
      await page.screenshot({ path: 'test-artifacts/chat-app-tool-card.png' });
      expect(pageErrors).toEqual([]);
      await context.close();
    }, 120_000);
  },
);
