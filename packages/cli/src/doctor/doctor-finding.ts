/** `ok`: checked and fine. `warn`: suspicious or not checkable. `fail`: a setup problem that breaks routing. */
export const doctorStatuses = ['ok', 'warn', 'fail'] as const;
export type DoctorStatus = (typeof doctorStatuses)[number];

/** The checks, in the order their findings are reported. */
export const doctorChecks = [
  'endpoints',
  'metric-names',
  'kv-events',
  'kv-event-topics',
  'block-size',
  'block-hashes',
  'index',
  'epp',
] as const;
export type DoctorCheck = (typeof doctorChecks)[number];

export interface DoctorFinding {
  readonly status: DoctorStatus;
  readonly check: DoctorCheck;
  /** Plain words: what is wrong, what it breaks, and what to change. */
  readonly message: string;
  /** What the finding is about (an endpoint key, a URL), when it is about one thing. */
  readonly subject?: string;
}

export interface DoctorReport {
  /** Sorted by check, then in the order the check produced them. */
  readonly findings: ReadonlyArray<DoctorFinding>;
  readonly counts: Readonly<Record<DoctorStatus, number>>;
}

export function finding(
  status: DoctorStatus,
  check: DoctorCheck,
  message: string,
  subject?: string,
): DoctorFinding {
  return subject === undefined ? { status, check, message } : { status, check, message, subject };
}

export function createDoctorReport(findings: ReadonlyArray<DoctorFinding>): DoctorReport {
  const order = (check: DoctorCheck) => doctorChecks.indexOf(check);
  // A stable sort keeps each check's own order (for example endpoint by endpoint).
  const sorted = [...findings].sort((left, right) => order(left.check) - order(right.check));
  const counts: Record<DoctorStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const item of sorted) counts[item.status] += 1;
  return { findings: sorted, counts };
}
