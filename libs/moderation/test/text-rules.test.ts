import { TextBlocklist } from '../src/text-rules';

describe('the text blocklist matches whole words, whatever their case and accents', () => {
  const list = new TextBlocklist(['spam', 'Crème Brûlée', 'buy now']);

  it('finds a blocked word in any case, with or without accents, next to punctuation', () => {
    expect(list.matches('Free SPAM!')).toEqual(['spam']);
    expect(list.matches('špâm inside')).toEqual(['spam']);
    expect(list.matches('the creme brulee video')).toEqual(['creme brulee']);
    expect(list.matches('BUY—now')).toEqual(['buy now']);
  });

  it('does not match inside other words or words apart', () => {
    expect(list.matches('spammer antispam')).toEqual([]);
    expect(list.matches('buy it now')).toEqual([]);
    expect(list.matches('')).toEqual([]);
  });

  it('rejects with the field and the word, or passes', () => {
    expect(list.check({ title: 'my spam', description: null })).toMatchObject({ check: 'text_blocklist', verdict: 'reject', code: 'blocked_text', message: expect.stringContaining('title: "spam"') });
    expect(list.check({ title: 'my holiday', description: 'sunny' })).toMatchObject({ verdict: 'pass' });
  });
});
