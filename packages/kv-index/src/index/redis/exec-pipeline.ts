import type { ChainableCommander } from 'ioredis';

/** Run a pipeline or transaction and return its replies, throwing the first command error. */
export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec();
  // exec() yields null only for a transaction aborted by WATCH, which this backend never uses.
  if (results === null) throw new Error('redis transaction was aborted');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
