import { LlmdError } from '@llmd/core';

const acceptedSchemes = new Map<string, string>([
  ['redis:', 'redis:'],
  ['rediss:', 'rediss:'],
  // Valkey speaks the Redis protocol; llm-d accepts these schemes and so do we.
  ['valkey:', 'redis:'],
  ['valkeys:', 'rediss:'],
]);

/**
 * Validate a Redis/Valkey connection URL and rewrite `valkey://` / `valkeys://` to the
 * `redis://` / `rediss://` schemes the client understands. Error messages never echo the URL,
 * because it may carry a password.
 */
export function normalizeRedisUrl(url: string): string {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new LlmdError('invalid_config', 'redis url must be a non-empty string', { path: 'url' });
  }
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch (error) {
    throw new LlmdError('invalid_config', 'redis url is not a valid URL', { path: 'url', cause: error });
  }
  const scheme = parsed.protocol.toLowerCase();
  const replacement = acceptedSchemes.get(scheme);
  if (replacement === undefined) {
    throw new LlmdError(
      'invalid_config',
      `redis url scheme "${scheme}" is not supported (use redis://, rediss://, valkey:// or valkeys://)`,
      { path: 'url' },
    );
  }
  // Rewrite only the scheme: re-serialising the URL object would re-encode credentials.
  const trimmed = url.trim();
  return replacement + trimmed.slice(scheme.length);
}
