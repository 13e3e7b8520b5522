import type { DoctorReport } from './doctor-finding.js';

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/**
 * One line per finding, `ok|warn|fail  <check>: <message>`, then a summary line. Statuses are
 * padded so the checks line up when the report is read in a terminal.
 */
export function formatDoctorReport(report: DoctorReport): string {
  const lines = report.findings.map((item) => `${item.status.padEnd(4)}  ${item.check}: ${item.message}`);
  const { ok, warn, fail } = report.counts;
  const verdict =
    fail > 0
      ? `${plural(fail, 'problem')} found`
      : warn > 0
        ? 'no problems found, but look at the warnings'
        : 'all good';
  lines.push(
    `doctor: ${plural(ok, 'check')} ok, ${plural(warn, 'warning')}, ${plural(fail, 'failure')}: ${verdict}`,
  );
  return `${lines.join('\n')}\n`;
}
