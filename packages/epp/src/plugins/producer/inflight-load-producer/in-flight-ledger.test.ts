import { describe, expect, it } from 'vitest';
import { InFlightLedger } from './in-flight-ledger.js';

describe('InFlightLedger', () => {
  it('adds one request and its tokens per contribution', () => {
    const ledger = new InFlightLedger(10);
    ledger.add('r1', [
      { profileName: 'decode', endpointKey: 'a:1', tokens: 100 },
      { profileName: 'prefill', endpointKey: 'b:1', tokens: 40 },
    ]);
    ledger.add('r2', [{ profileName: 'decode', endpointKey: 'a:1', tokens: 5 }]);
    expect(ledger.load('a:1')).toEqual({ requests: 2, tokens: 105 });
    expect(ledger.load('b:1')).toEqual({ requests: 1, tokens: 40 });
    expect(ledger.trackedRequests).toBe(2);
  });

  it('releases tokens once, then requests once, and forgets idle endpoints', () => {
    const ledger = new InFlightLedger(10);
    ledger.add('r1', [{ profileName: 'default', endpointKey: 'a:1', tokens: 100 }]);
    ledger.releaseTokens('r1');
    ledger.releaseTokens('r1');
    expect(ledger.load('a:1')).toEqual({ requests: 1, tokens: 0 });
    ledger.releaseAll('r1');
    ledger.releaseAll('r1');
    expect(ledger.load('a:1')).toBeUndefined();
    expect(ledger.trackedRequests).toBe(0);
  });

  it('releases one profile in full and leaves the others', () => {
    const ledger = new InFlightLedger(10);
    ledger.add('r1', [
      { profileName: 'decode', endpointKey: 'a:1', tokens: 10 },
      { profileName: 'prefill', endpointKey: 'b:1', tokens: 30 },
    ]);
    ledger.releaseProfile('r1', 'prefill');
    ledger.releaseProfile('r1', 'prefill');
    expect(ledger.load('b:1')).toBeUndefined();
    expect(ledger.load('a:1')).toEqual({ requests: 1, tokens: 10 });
    ledger.releaseAll('r1');
    expect(ledger.load('a:1')).toBeUndefined();
  });

  it('re-adding a request replaces its earlier contribution instead of double counting', () => {
    const ledger = new InFlightLedger(10);
    ledger.add('r1', [{ profileName: 'default', endpointKey: 'a:1', tokens: 10 }]);
    ledger.add('r1', [{ profileName: 'default', endpointKey: 'b:1', tokens: 20 }]);
    expect(ledger.load('a:1')).toBeUndefined();
    expect(ledger.load('b:1')).toEqual({ requests: 1, tokens: 20 });
  });

  it('does not let releases of a removed endpoint touch its re-added counters', () => {
    const ledger = new InFlightLedger(10);
    ledger.add('old', [{ profileName: 'default', endpointKey: 'a:1', tokens: 10 }]);
    ledger.removeEndpoint('a:1');
    expect(ledger.load('a:1')).toBeUndefined();
    ledger.add('new', [{ profileName: 'default', endpointKey: 'a:1', tokens: 7 }]);
    ledger.releaseAll('old');
    expect(ledger.load('a:1')).toEqual({ requests: 1, tokens: 7 });
  });

  it('is bounded: beyond capacity the oldest request is released and reported', () => {
    const evicted: string[] = [];
    const ledger = new InFlightLedger(2, (requestId) => evicted.push(requestId));
    for (const requestId of ['r1', 'r2', 'r3']) {
      ledger.add(requestId, [{ profileName: 'default', endpointKey: 'a:1', tokens: 1 }]);
    }
    expect(evicted).toEqual(['r1']);
    expect(ledger.trackedRequests).toBe(2);
    expect(ledger.load('a:1')).toEqual({ requests: 2, tokens: 2 });
  });

  it('ignores requests with no targets and releases of unknown requests', () => {
    const ledger = new InFlightLedger(2);
    ledger.add('r1', []);
    ledger.releaseAll('unknown');
    ledger.releaseTokens('unknown');
    ledger.releaseProfile('unknown', 'prefill');
    expect(ledger.trackedRequests).toBe(0);
  });
});
