import { describe, expect, it } from 'vitest';
import { createSchedulingRequest } from '../../../scheduling/create-scheduling-request.js';
import { createTestEndpointState, createTestScheduler } from '../../../testing/index.js';
import { singleProfileHandlerPlugin } from './single-profile-handler.js';

describe('single-profile-handler', () => {
  it('runs its one profile once and routes to it', () => {
    const handler = singleProfileHandlerPlugin.create(undefined as never, {} as never);
    const profiles = new Map([['only', { name: 'only' }]]);
    const request = createSchedulingRequest();
    expect(handler.pickProfiles?.(request, profiles, new Map())).toEqual(['only']);
    expect(handler.pickProfiles?.(request, profiles, new Map([['only', null]]))).toEqual([]);
    expect(handler.processResults?.(request, new Map([['only', null]]))).toEqual({
      primaryProfileName: 'only',
    });
  });

  it('is injected for a single-profile config and schedules through it', async () => {
    const scheduler = await createTestScheduler({ config: 'plugins: [{ type: queue-scorer }]' });
    expect(scheduler.plugins.profileHandler.plugin.type).toBe('single-profile-handler');
    const outcome = await scheduler.schedule(createSchedulingRequest(), [createTestEndpointState()]);
    expect(outcome.ok && outcome.result.primaryProfileName).toBe('default');
  });
});
