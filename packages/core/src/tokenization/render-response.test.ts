import { describe, expect, it } from 'vitest';
import { extractRenderedTokenIds } from './render-response.js';

describe('extractRenderedTokenIds', () => {
  it('reads a chat GenerateRequest and a completions list of them', () => {
    expect(extractRenderedTokenIds({ request_id: 'a', token_ids: [1, 2], features: null })).toEqual([1, 2]);
    expect(extractRenderedTokenIds([{ token_ids: [3] }, { token_ids: [4] }])).toEqual([3]);
  });

  it('accepts prompt_token_ids, nested results and bare id arrays', () => {
    expect(extractRenderedTokenIds({ prompt_token_ids: [5, 6] })).toEqual([5, 6]);
    expect(extractRenderedTokenIds({ data: [{ prompt: { prompt_token_ids: [7] } }] })).toEqual([7]);
    expect(extractRenderedTokenIds([8, 9])).toEqual([8, 9]);
    expect(extractRenderedTokenIds({ token_ids: [] })).toEqual([]);
  });

  it('rejects anything that is not a list of non-negative integers', () => {
    expect(extractRenderedTokenIds({ token_ids: [1, -2] })).toBeUndefined();
    expect(extractRenderedTokenIds({ token_ids: ['1'] })).toBeUndefined();
    expect(extractRenderedTokenIds({ token_ids: [1.5] })).toBeUndefined();
    expect(extractRenderedTokenIds('token_ids')).toBeUndefined();
    expect(extractRenderedTokenIds(null)).toBeUndefined();
    expect(
      extractRenderedTokenIds({ data: { data: { data: { data: { data: { token_ids: [1] } } } } } }),
    ).toBeUndefined();
  });
});
