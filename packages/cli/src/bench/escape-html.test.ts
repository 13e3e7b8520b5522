import { describe, expect, it } from 'vitest';
import { escapeHtml } from './escape-html.js';

describe('escapeHtml', () => {
  it('escapes markup and quote characters', () => {
    expect(escapeHtml(`<a href="x">'b' & c</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;b&#39; &amp; c&lt;/a&gt;',
    );
  });
});
