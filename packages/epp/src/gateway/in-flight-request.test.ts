import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { InFlightRequest } from './in-flight-request.js';

/** A real, unconnected node:http response: InFlightRequest only ever destroys it. */
function detachedResponse(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new Socket()));
}

describe('InFlightRequest', () => {
  it('aborts a signal handed out before the client left', () => {
    const state = new InFlightRequest(detachedResponse());
    const signal = state.signal;
    expect(signal.aborted).toBe(false);
    expect(state.signal).toBe(signal);
    state.clientGone();
    expect(signal.aborted).toBe(true);
    expect(state.isClientGone).toBe(true);
  });

  it('hands out an already aborted signal when first asked after the client left', () => {
    const state = new InFlightRequest(detachedResponse());
    state.clientGone();
    state.clientGone();
    expect(state.signal.aborted).toBe(true);
  });

  it('abort() ends the client connection as well', () => {
    const response = detachedResponse();
    const state = new InFlightRequest(response);
    state.abort();
    expect(state.signal.aborted).toBe(true);
    expect(response.destroyed).toBe(true);
  });
});
