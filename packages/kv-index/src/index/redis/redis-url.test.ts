import { LlmdError } from '@llmd/core';
import { describe, expect, it } from 'vitest';
import { normalizeRedisUrl } from './redis-url.js';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return LlmdError.isInstance(error) ? error.code : 'not an LlmdError';
  }
  return undefined;
}

describe('normalizeRedisUrl', () => {
  it('keeps redis and rediss URLs', () => {
    expect(normalizeRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(normalizeRedisUrl('rediss://user:p%40ss@cache.example:6380/2')).toBe(
      'rediss://user:p%40ss@cache.example:6380/2',
    );
  });

  it('rewrites valkey schemes to redis schemes, as llm-d does', () => {
    expect(normalizeRedisUrl('valkey://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(normalizeRedisUrl('valkeys://:secret@valkey.example:6380/1')).toBe(
      'rediss://:secret@valkey.example:6380/1',
    );
    expect(normalizeRedisUrl('VALKEY://host:1')).toBe('redis://host:1');
  });

  it('rejects other schemes and malformed URLs with invalid_config, without echoing the URL', () => {
    expect(codeOf(() => normalizeRedisUrl('http://127.0.0.1:6379'))).toBe('invalid_config');
    expect(codeOf(() => normalizeRedisUrl('127.0.0.1:6379'))).toBe('invalid_config');
    expect(codeOf(() => normalizeRedisUrl('not a url'))).toBe('invalid_config');
    expect(codeOf(() => normalizeRedisUrl(''))).toBe('invalid_config');
    try {
      normalizeRedisUrl('memcached://user:hunter2@host');
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});
