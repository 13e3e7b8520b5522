import { describe, expect, it } from 'vitest';
import { createDoctorReport, finding } from './doctor-finding.js';
import { formatDoctorReport } from './format-doctor-report.js';

describe('formatDoctorReport', () => {
  it('prints one aligned line per finding, ordered by check, then a summary', () => {
    const report = createDoctorReport([
      finding('fail', 'index', 'index empty while traffic flows'),
      finding('ok', 'endpoints', 'a is up'),
      finding('warn', 'metric-names', 'old name'),
      finding('ok', 'endpoints', 'b is up'),
    ]);
    expect(formatDoctorReport(report)).toBe(
      [
        'ok    endpoints: a is up',
        'ok    endpoints: b is up',
        'warn  metric-names: old name',
        'fail  index: index empty while traffic flows',
        'doctor: 2 checks ok, 1 warning, 1 failure: 1 problem found',
        '',
      ].join('\n'),
    );
  });

  it('says so when all is good or only warnings remain', () => {
    expect(formatDoctorReport(createDoctorReport([finding('ok', 'epp', 'fine')]))).toMatch(/: all good\n$/);
    expect(formatDoctorReport(createDoctorReport([finding('warn', 'epp', 'hm')]))).toMatch(
      /0 checks ok, 1 warning, 0 failures: no problems found, but look at the warnings\n$/,
    );
  });
});
