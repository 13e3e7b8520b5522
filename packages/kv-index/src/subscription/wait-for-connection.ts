import type { Socket } from 'zeromq';

/**
 * Resolves true once `socket` has established its first connection, false when `signal` aborts or
 * the socket closes first. Call it before `connect`, so the event cannot be missed. It reads a
 * ZeroMQ monitor, closed as soon as it is no longer needed.
 *
 * Abort before closing the socket: closing a socket whose monitor is still being read can leave
 * that read pending for good.
 */
export function waitForConnection(socket: Socket, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || socket.closed) return Promise.resolve(false);
  const events = socket.events;
  const stop = (): void => {
    if (!events.closed) events.close();
  };
  signal.addEventListener('abort', stop, { once: true });
  return (async () => {
    try {
      while (!events.closed) {
        // Closing the monitor resolves a pending read with undefined (or rejects it).
        const event = (await events.receive()) as Awaited<ReturnType<typeof events.receive>> | undefined;
        if (event === undefined || event.type === 'end') return false;
        if (event.type === 'connect') return true;
      }
      return false;
    } catch {
      return false;
    } finally {
      signal.removeEventListener('abort', stop);
      stop();
    }
  })();
}
