// Kubernetes minor releases as data: the latest patch this table knows of and the end-of-life
// date, from the release pages at kubernetes.io/releases. Update it as releases come out:
// a stale table can only under-report (it never calls a newer patch out of date), and a
// minor newer than the table is judged supported.
//
// `latestPatchSeen` is the day the latest patch was confirmed; `endOfLife` is the last day
// the minor is supported (it is out of support from the next day, UTC).

export interface K8sMinorRelease {
  /** e.g. 32 for 1.32. */
  readonly minor: number;
  readonly latestPatch: number;
  readonly latestPatchSeen: string;
  readonly endOfLife: string;
}

export const K8S_RELEASES_AS_OF = '2026-09-15';

export const K8S_RELEASES: readonly K8sMinorRelease[] = [
  { minor: 30, latestPatch: 14, latestPatchSeen: '2025-07-15', endOfLife: '2025-07-15' },
  { minor: 31, latestPatch: 14, latestPatchSeen: '2026-01-07', endOfLife: '2025-10-28' },
  { minor: 32, latestPatch: 11, latestPatchSeen: '2026-01-07', endOfLife: '2026-02-28' },
  { minor: 33, latestPatch: 10, latestPatchSeen: '2026-03-19', endOfLife: '2026-06-28' },
  { minor: 34, latestPatch: 9, latestPatchSeen: '2026-06-09', endOfLife: '2026-10-27' },
  { minor: 35, latestPatch: 9, latestPatchSeen: '2026-09-15', endOfLife: '2027-02-28' },
  { minor: 36, latestPatch: 4, latestPatchSeen: '2026-08-11', endOfLife: '2027-06-28' },
  { minor: 37, latestPatch: 1, latestPatchSeen: '2026-09-15', endOfLife: '2027-10-28' },
];
