import { ValidationError } from 'carebase';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatFixture, chatFixture } from '../support/chat.js';

let f: ChatFixture;
let userId: string;

beforeAll(async () => {
  f = await chatFixture();
  userId = await f.user();
  const other = await f.user();
  await f.cb.chat.appendMany([
    { userId, role: 'user', content: 'What is the insulin dose for an adult with type 1 diabetes?' },
    { userId, role: 'assistant', content: 'The pediatric insulin dose depends on weight.' },
    { userId, role: 'user', content: 'Dose of insulin for an adult, please.' },
    { userId, role: 'user', content: 'Blood pressure readings were high this morning.' },
    { userId, role: 'assistant', content: 'Check the blood glucose and the blood pressure again.' },
    { userId: other, role: 'user', content: 'insulin dose for my patient' },
  ]);
});

afterAll(async () => {
  await f?.close();
});

const contents = (page: { items: readonly { message: { content: string } }[] }): string[] =>
  page.items.map((hit) => hit.message.content);

describe('cb.chat.search', () => {
  it('matches a quoted phrase only where the words are adjacent', async () => {
    const page = await f.cb.chat.search({ userId, query: '"insulin dose"' });
    expect(contents(page).sort()).toEqual([
      'The pediatric insulin dose depends on weight.',
      'What is the insulin dose for an adult with type 1 diabetes?',
    ]);
  });

  it('excludes -term and supports or', async () => {
    const page = await f.cb.chat.search({ userId, query: 'insulin -pediatric' });
    expect(contents(page)).not.toContain('The pediatric insulin dose depends on weight.');
    expect(page.items).toHaveLength(2);
    const either = await f.cb.chat.search({ userId, query: 'diabetes or glucose' });
    expect(either.items).toHaveLength(2);
  });

  it('ranks and highlights, scoped to the user', async () => {
    const page = await f.cb.chat.search({ userId, query: 'blood pressure' });
    expect(page.items).toHaveLength(2);
    const [first, second] = page.items;
    expect(first?.rank).toBeGreaterThanOrEqual(second?.rank ?? 0);
    expect(first?.snippet).toMatch(/<b>[Bb]lood<\/b> <b>pressure<\/b>/);
    expect(contents(await f.cb.chat.search({ userId, query: 'patient' }))).toEqual([]);
  });

  it('returns an empty result for stop words, punctuation and empty queries', async () => {
    for (const query of ['the and of', '!!! ??? ...', '', '   ', '"', '-', '&|!():*']) {
      const page = await f.cb.chat.search({ userId, query });
      expect(page).toEqual({ items: [], nextCursor: undefined, hasMore: false });
    }
  });

  it('pages by cursor without repeats', async () => {
    const all = await f.cb.chat.search({ userId, query: 'insulin or blood or dose', limit: 100 });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await f.cb.chat.search({
        userId,
        query: 'insulin or blood or dose',
        limit: 2,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.items.map((hit) => hit.message.id));
      // Honest: more is announced exactly when another page follows.
      expect(page.hasMore).toBe(seen.length < 5);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.items.map((hit) => hit.message.id));
    expect(seen).toHaveLength(5);
    await expect(f.cb.chat.search({ userId, query: 'x', cursor: 'garbage' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
