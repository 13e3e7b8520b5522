import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeFirstIssue, formatEndpointKey, type KvTransferParams } from '@llmd/core';
import { z } from 'zod';
import { HttpError, readJsonBody, sendJson } from './http-utilities.js';
import type { SimPodContext } from './sim-pod-context.js';

/** The simulator's stand-in for NIXL's "read done" notification from a decoder to its prefiller. */
export const kvTransferReleasePath = '/v1/kv_transfer/release';

/** A prefiller that does not answer in time keeps its blocks until its own timeout: never wait longer. */
const releaseTimeoutMilliseconds = 2000;

const releaseRequestSchema = z.object({ remote_request_id: z.string().min(1) }).loose();

/** What a decode request needs to reach its prefiller (other fields of the opaque object are ignored). */
const prefillerSchema = z
  .object({
    remote_host: z.string().min(1),
    remote_port: z.number().int().min(1).max(65_535),
    remote_request_id: z.string().min(1),
  })
  .loose();

/** `POST /v1/kv_transfer/release` `{"remote_request_id"}`: a decoder has read a prefill's blocks. */
export async function handleKvTransferRelease(
  request: IncomingMessage,
  response: ServerResponse,
  context: SimPodContext,
): Promise<void> {
  const raw = await readJsonBody(request, context.config.maxRequestBodySizeMb * 1024 * 1024);
  const parsed = releaseRequestSchema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, describeFirstIssue(parsed.error.issues));
  const remoteRequestId = parsed.data.remote_request_id;
  if (!context.engine.releaseRemoteBlocks(remoteRequestId)) {
    throw new HttpError(
      404,
      `No KV blocks are pinned for remote_request_id '${remoteRequestId}' (already released or timed out)`,
      'NotFoundError',
      'remote_request_id',
    );
  }
  sendJson(response, 200, { released: true });
}

/**
 * Decode side: the simulated KV transfer is done, so tell the prefiller it may free the blocks, as
 * NIXL's notification would. Fire and forget: the decode response never waits for or fails on it;
 * a lost notification only means the prefiller frees the blocks at its abort timeout.
 */
export function notifyPrefillerTransferDone(context: SimPodContext, transfer: KvTransferParams): void {
  const prefiller = prefillerSchema.safeParse(transfer);
  if (!prefiller.success) return;
  const { remote_host: host, remote_port: port, remote_request_id: remoteRequestId } = prefiller.data;
  const url = `http://${formatEndpointKey(host, port)}${kvTransferReleasePath}`;
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ remote_request_id: remoteRequestId }),
    signal: AbortSignal.timeout(releaseTimeoutMilliseconds),
  })
    .then(async (response) => {
      // Read the body so the connection returns to the pool.
      const text = await response.text();
      if (!response.ok)
        context.logger.debug(
          { url, remoteRequestId, status: response.status, body: text },
          'prefiller did not release the KV blocks',
        );
    })
    .catch((error: unknown) =>
      context.logger.debug(
        { url, remoteRequestId, error: error instanceof Error ? error.message : String(error) },
        'could not notify the prefiller that the KV transfer is done',
      ),
    );
}
