import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { loadTokenizer } from './load-tokenizer.js';
import { createPrefixCachingTokenizer } from './prefix-caching-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import { serializeError, type WorkerReply, type WorkerRequest, type WorkerSetup } from './worker-protocol.js';

/**
 * Worker-thread entry of the tokenizer pool (built to `dist/tokenization/tokenize-worker.js`). It loads
 * one tokenizer, then answers requests in arrival order. Unlike library modules it acts on load, but
 * only inside a worker started by the pool with its setup: imported anywhere else it does nothing.
 */
function isWorkerSetup(value: unknown): value is WorkerSetup {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Partial<WorkerSetup>).protocol === 'llmd-tokenize-worker/1'
  );
}

function serve(port: MessagePort, setup: WorkerSetup): void {
  const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
  // The prefix cache is built before `ready` is sent: invalid cache options must fail the load,
  // not every request (the pool would otherwise keep replacing a worker that can never serve).
  const loaded: Promise<Tokenizer | undefined> = loadTokenizer(setup.source, setup.loadOptions)
    .then((tokenizer) => {
      const serving =
        setup.prefixCache === false ? tokenizer : createPrefixCachingTokenizer(tokenizer, setup.prefixCache);
      send({ type: 'ready', name: tokenizer.name, modelName: tokenizer.modelName });
      return serving;
    })
    .catch((error: unknown) => {
      send({ type: 'load-failed', error: serializeError(error) });
      return undefined;
    });

  const answer = (tokenizer: Tokenizer, request: WorkerRequest): void => {
    try {
      const ids =
        request.type === 'tokenize'
          ? tokenizer.encode(request.text, { addSpecialTokens: request.addSpecialTokens })
          : tokenizer.encode(
              tokenizer.applyChatTemplate(request.messages, {
                tools: request.tools,
                addGenerationPrompt: request.addGenerationPrompt,
                chatTemplate: request.chatTemplate,
                templateKwargs: request.templateKwargs,
              }),
              { addSpecialTokens: false },
            );
      const array = Uint32Array.from(ids);
      send({ type: 'token-ids', id: request.id, ids: array }, [array.buffer]);
    } catch (error) {
      send({ type: 'failed', id: request.id, error: serializeError(error) });
    }
  };

  port.on('message', (request: WorkerRequest) => {
    // Callbacks on one promise run in registration order, so requests are answered in arrival order.
    void loaded.then((tokenizer) => {
      if (tokenizer !== undefined) answer(tokenizer, request);
    });
  });
}

if (parentPort !== null && isWorkerSetup(workerData)) serve(parentPort, workerData);
