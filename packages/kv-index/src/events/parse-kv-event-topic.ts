import { formatEndpointKey, InvalidArgumentError } from '@llmd/core';

export interface KvEventTopic {
  /** `ip:port` (`[v6]:port` for IPv6), or the bare host when the port is unknown. */
  readonly endpointKey: string;
  /** Everything after the second `@`; may itself contain `/` and `@`. */
  readonly modelName: string;
  readonly host: string;
  /** From the topic, else the `defaultPort` option; undefined when neither gives one. */
  readonly port: number | undefined;
}

export interface ParseKvEventTopicOptions {
  /** Port for the older `kv@<ip>@<model>` form, e.g. the endpoint's single target port. */
  readonly defaultPort?: number;
}

const topicPrefix = 'kv@';
const bracketedAddress = /^\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?$/;
const hostAndPort = /^([^\s:@[\]/]+)(?::([0-9]{1,5}))?$/;

/**
 * Parses llm-d's topic convention `kv@<ip>:<port>@<model>` (kv-events.md §4.3), and the older
 * `kv@<ip>@<model>`. Only the first two `@` separate fields: model names such as
 * `org/model@revision` keep their own `@`. Returns null for anything else, so callers can count
 * the message as unattributable instead of indexing it under a wrong key.
 *
 * Unbracketed IPv6 addresses are rejected: in `fd00::7:8000` the port cannot be told apart from
 * the last address group, and guessing would silently key the index wrong.
 */
export function parseKvEventTopic(
  topic: string,
  options: ParseKvEventTopicOptions = {},
): KvEventTopic | null {
  const { defaultPort } = options;
  if (defaultPort !== undefined && !isPort(defaultPort)) {
    throw new InvalidArgumentError(`defaultPort must be an integer from 1 to 65535, got ${defaultPort}`, {
      path: 'defaultPort',
    });
  }
  if (!topic.startsWith(topicPrefix)) return null;
  const modelSeparator = topic.indexOf('@', topicPrefix.length);
  if (modelSeparator < 0) return null;
  const address = topic.slice(topicPrefix.length, modelSeparator);
  const modelName = topic.slice(modelSeparator + 1);
  if (modelName.trim() === '') return null;

  const match = bracketedAddress.exec(address) ?? hostAndPort.exec(address);
  const host = match?.[1];
  if (host === undefined) return null;
  const portText = match?.[2];
  const port = portText === undefined ? defaultPort : Number(portText);
  if (port !== undefined && !isPort(port)) return null;
  const endpointKey = port === undefined ? formatHost(host) : formatEndpointKey(host, port);
  return { endpointKey, modelName, host, port };
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65_535;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
