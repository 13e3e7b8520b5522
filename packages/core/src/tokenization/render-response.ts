const tokenIdKeys = ['token_ids', 'prompt_token_ids'] as const;
const nestingKeys = ['prompt', 'data', 'results', 'prompts', 'engine_prompt'] as const;
const maxDepth = 4;

/**
 * Find the token ids in a render response. vLLM has answered with one `GenerateRequest`
 * (`{token_ids, …}`, chat render), a list of them (completions render) and, in older builds,
 * `prompt_token_ids`, possibly nested; accepting all of these keeps us working across vLLM versions.
 * Returns undefined when no array of non-negative integers is found.
 */
export function extractRenderedTokenIds(body: unknown, depth = 0): number[] | undefined {
  if (depth > maxDepth) return undefined;
  if (Array.isArray(body)) {
    if (isTokenIdArray(body)) return body;
    const first: unknown = body[0];
    return first === undefined ? undefined : extractRenderedTokenIds(first, depth + 1);
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  for (const key of tokenIdKeys) {
    const value = record[key];
    if (Array.isArray(value) && isTokenIdArray(value)) return value;
  }
  for (const key of nestingKeys) {
    const value = record[key];
    if (typeof value === 'object' && value !== null) {
      const found = extractRenderedTokenIds(value, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function isTokenIdArray(values: readonly unknown[]): values is number[] {
  // An empty array is a valid rendering of an empty prompt.
  return values.every((value) => typeof value === 'number' && Number.isInteger(value) && value >= 0);
}
