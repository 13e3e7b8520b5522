import type { ServerResponse } from 'node:http';
import type { UpstreamForward } from './forward-to-upstream.js';

/**
 * One client request the gateway is working on. A class rather than closures: it is created for
 * every request, and its state (the pipeline's abort signal, the upstream forward to stop) is what
 * a client disconnect or a shutdown has to reach.
 */
export class InFlightRequest {
  /** Made on first use: an AbortSignal costs microseconds to create, and a pipeline may never read it. */
  #controller: AbortController | undefined = undefined;
  #clientGone = false;
  /** Set while the request is being forwarded upstream. */
  forward: UpstreamForward | undefined = undefined;

  constructor(readonly response: ServerResponse) {}

  /** Aborted when the client goes away; handed to the pipeline. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#clientGone) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  get isClientGone(): boolean {
    return this.#clientGone;
  }

  /** The client left before its response finished: cancel the pipeline's work and the upstream request. */
  clientGone(): void {
    if (this.#clientGone) return;
    this.#clientGone = true;
    this.#controller?.abort();
    this.forward?.clientDisconnected();
  }

  /** Shutdown deadline passed. */
  abort(): void {
    this.clientGone();
    this.response.destroy();
  }
}
