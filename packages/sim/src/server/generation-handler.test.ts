import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { noopLogger } from '@llmd/core';
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../engine/seeded-random.js';
import { type SimServer, startSimServer } from '../sim-server.js';
import { WordTokenizer } from '../tokenizer/word-tokenizer.js';
import { handleGeneration } from './generation-handler.js';
import type { SimPodContext } from './sim-pod-context.js';

const servers: SimServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close(0)));
});

/** The context of a started server's rank 0, so the handler can be driven without HTTP. */
async function podContext(): Promise<SimPodContext> {
  const server = await startSimServer({ port: 0, model: 'sim-model', mode: 'random', interTokenLatency: 50 });
  servers.push(server);
  const rank = server.ranks[0];
  if (!rank) throw new Error('the server has no rank');
  return {
    config: server.config,
    rank: 0,
    host: '127.0.0.1',
    port: rank.port,
    engine: rank.engine,
    metrics: rank.metrics,
    tokenizer: new WordTokenizer('sim-model'),
    servedModelNames: ['sim-model'],
    loras: new Map(),
    random: new SeededRandom(1),
    engineId: 'engine-under-test',
    podName: undefined,
    podNamespace: undefined,
    logger: noopLogger,
    isReady: () => true,
  };
}

function jsonRequest(body: unknown): IncomingMessage {
  return Object.assign(Readable.from([Buffer.from(JSON.stringify(body))]), {
    headers: { 'content-type': 'application/json' },
  }) as unknown as IncomingMessage;
}

describe('handleGeneration', () => {
  it('starts no work for a client that left before its request was submitted', async () => {
    const context = await podContext();
    const response = new ServerResponse(new IncomingMessage(new Socket()));
    // The client is gone and its 'close' event has passed: nothing would ever abort the request.
    response.destroy();
    let settled = false;
    const handled = handleGeneration(
      'completion',
      jsonRequest({ model: 'sim-model', prompt: 'nobody reads this', max_tokens: 1000, ignore_eos: true }),
      response,
      context,
    ).finally(() => {
      settled = true;
    });
    await expect.poll(() => settled, { timeout: 2000 }).toBe(true);
    await handled;
    expect(context.engine.runningCount + context.engine.waitingCount).toBe(0);
  });
});
