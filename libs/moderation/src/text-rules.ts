import type { ModerationReasonV1 } from '@video-pipeline/events';

/**
 * Words and phrases compared as people read them: case and accents do not
 * count (NFKD, marks dropped, lower case), and only whole words match
 * ("ass" blocks "Ass!" and "áss", not "class").
 */
export function normalizeText(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

const words = (text: string): string[] => normalizeText(text).split(/[^\p{L}\p{N}]+/u).filter(Boolean);

/** A blocklist of words or phrases (several words matched in sequence). */
export class TextBlocklist {
  private readonly entries: string[][];

  constructor(entries: readonly string[]) {
    this.entries = entries.map(words).filter((entry) => entry.length > 0);
  }

  /** The blocked entries the text contains, as written in the list (normalised). */
  matches(text: string): string[] {
    const tokens = words(text);
    const found: string[] = [];
    for (const entry of this.entries) {
      for (let start = 0; start + entry.length <= tokens.length; start += 1) {
        if (entry.every((word, index) => tokens[start + index] === word)) {
          found.push(entry.join(' '));
          break;
        }
      }
    }
    return found;
  }

  /** The text rule's verdict on a video's title and description. */
  check(fields: { title?: string | null; description?: string | null }): ModerationReasonV1 {
    const hits = Object.entries(fields).flatMap(([field, text]) => (text ? this.matches(text).map((entry) => `${field}: "${entry}"`) : []));
    return hits.length > 0
      ? { check: 'text_blocklist', verdict: 'reject', code: 'blocked_text', message: `blocked words in ${hits.join(', ')}` }
      : { check: 'text_blocklist', verdict: 'pass', code: 'text_ok', message: 'no blocked words' };
  }
}
