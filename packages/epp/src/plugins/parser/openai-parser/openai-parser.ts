import { definePlugin } from '../../../plugin/define-plugin.js';

/**
 * llm-d's default request parser. llmd's request pipeline always parses OpenAI completions and
 * chat completions (other paths pass through to a random endpoint), so this type exists for
 * configs that list it under `requestHandler.parsers`; it adds no behaviour of its own.
 */
export const openAiParserPlugin = definePlugin({
  type: 'openai-parser',
  stability: 'Stable',
  create: () => ({}),
});
