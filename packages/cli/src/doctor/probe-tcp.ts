import { connect } from 'node:net';
import { describeNetworkError } from './describe-network-error.js';

/**
 * Whether something accepts TCP connections at a ZeroMQ `tcp://host:port` endpoint: a SUB socket
 * dialling a closed port retries silently forever, so without this probe a wrong port would look
 * like an idle engine. Resolves to undefined when reachable (or not a tcp endpoint), else the reason.
 */
export function probeTcpEndpoint(endpoint: string, timeoutMilliseconds: number): Promise<string | undefined> {
  const match = /^tcp:\/\/(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(endpoint);
  if (!match) return Promise.resolve(undefined);
  const host = (match[1] ?? match[2]) as string;
  const port = Number(match[3]);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (reason: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(
      () => finish(`no answer within ${timeoutMilliseconds / 1000} s`),
      timeoutMilliseconds,
    );
    socket.once('connect', () => finish(undefined));
    socket.once('error', (error) => finish(describeNetworkError(error, timeoutMilliseconds)));
  });
}
