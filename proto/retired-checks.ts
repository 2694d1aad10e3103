// Check ids that agents up to 0.2.x send and later agents do not: each judged a problem another
// check judges too, so one problem became two findings (issue 17: twelve loose key files were
// 24 high findings, cis-1.1.21 and cert-key-file). Each was merged into the check that survives,
// which now carries every benchmark reference of both. Part of the wire contract:
// - the collector maps a retired check's failing result from an older agent onto the surviving
//   finding (collector/ingest/retired-checks.ts), and drops it when the same report already
//   judges that finding, so it counts once and alerts nobody twice;
// - collector migration 013 re-keyed the findings stored under these ids;
// - `nodeward scan --checks <retired id>` selects the surviving checks.
// Append only: an id here is never used for a new check.

export interface RetiredTarget {
  /** Only results on this subject go here (absent: results on any subject). */
  readonly from?: string;
  /** The surviving check. */
  readonly checkId: string;
  /** The surviving finding's subject (absent: the same subject). */
  readonly subject?: string;
}

export interface RetiredCheck {
  /** The id older agents send. */
  readonly id: string;
  /** What the surviving check does with the retired one's problem, in words. */
  readonly why: string;
  /** Where its results go, first match wins; a subject no entry matches has no surviving finding. */
  readonly into: readonly RetiredTarget[];
}

export const RETIRED_CHECKS: readonly RetiredCheck[] = [
  {
    id: 'cis-1.1.21',
    why: 'cert-key-file judges the mode of every private key file, the *.key files of the PKI directories included; its results on those carry cis-1.12:1.1.21',
    into: [{ checkId: 'cert-key-file' }],
  },
  {
    id: 'etcd-auto-tls',
    why: 'cis-2.3 and cis-2.6 judge --auto-tls and --peer-auto-tls, with what etcd does when they are on',
    into: [
      { from: 'etcd/--auto-tls', checkId: 'cis-2.3' },
      { from: 'etcd/--peer-auto-tls', checkId: 'cis-2.6' },
    ],
  },
  {
    id: 'etcd-ca-shared',
    why: 'cis-2.7 compares etcd\'s trusted CA with the cluster CA by content, not only by path',
    into: [{ checkId: 'cis-2.7', subject: 'etcd/--trusted-ca-file' }],
  },
  {
    id: 'kubelet-api-anonymous',
    why: 'cis-4.2.1 also probes the kubelet API: an anonymous request it answers fails the result as critical',
    into: [{ checkId: 'cis-4.2.1', subject: 'kubelet/--anonymous-auth' }],
  },
  {
    id: 'kubelet-readonly-port-closed',
    why: 'cis-4.2.4 also probes the read-only port: a port that accepts connections fails the result as high',
    into: [{ checkId: 'cis-4.2.4', subject: 'kubelet/--read-only-port' }],
  },
  {
    id: 'etcd-client-cert-auth-live',
    why: 'cis-2.2 also probes etcd\'s client URLs: a client served without a certificate fails the result as critical',
    into: [{ checkId: 'cis-2.2', subject: 'etcd/--client-cert-auth' }],
  },
  {
    id: 'etcd-plaintext-live',
    why: 'cis-2.1 also probes etcd\'s client URLs: one that answers in plain text fails the result as critical',
    into: [{ checkId: 'cis-2.1', subject: 'etcd/--cert-file,--key-file' }],
  },
];

const BY_ID: ReadonlyMap<string, RetiredCheck> = new Map(RETIRED_CHECKS.map((r) => [r.id, r]));

export const isRetiredCheck = (checkId: string): boolean => BY_ID.has(checkId);

/**
 * The surviving check and subject of a retired check's result on `subject`; undefined when
 * `checkId` is not retired or no finding of it survives on that subject.
 */
export function survivorOf(checkId: string, subject: string): { readonly checkId: string; readonly subject: string } | undefined {
  const r = BY_ID.get(checkId);
  const t = r?.into.find((x) => x.from === undefined || x.from === subject);
  return t ? { checkId: t.checkId, subject: t.subject ?? subject } : undefined;
}

/** The checks a retired id's results went to (whatever the subject). */
export const survivorsOf = (checkId: string): string[] => [...new Set(BY_ID.get(checkId)?.into.map((t) => t.checkId) ?? [])];

/**
 * Checks still in the catalog that ask the same of a file as another check where that file is
 * in the other's file set: on a kubeadm control plane the kubelet's client CA is the PKI's ca.crt.
 * There the agent reports one result, the other check's, carrying both references (the spec
 * field `sharedWith` on both), and the absorbed check skips the file. Agents up to 0.2.x sent
 * both; the collector drops the absorbed result when the same report has the other check's on
 * the same subject, and migration 013 folded the stored pairs. Elsewhere (a worker's client CA)
 * the check stands alone.
 */
export interface AbsorbedCheck {
  readonly id: string;
  readonly into: string;
  readonly why: string;
}

export const ABSORBED_CHECKS: readonly AbsorbedCheck[] = [
  { id: 'cis-4.1.7', into: 'cis-1.1.20', why: 'the kubelet\'s client CA file mode, when the file is a PKI certificate cis-1.1.20 judges' },
  { id: 'cis-4.1.8', into: 'cis-1.1.19', why: 'the kubelet\'s client CA file owner, when the file is in the PKI directory cis-1.1.19 judges' },
];

const ABSORBED_BY_ID: ReadonlyMap<string, string> = new Map(ABSORBED_CHECKS.map((a) => [a.id, a.into]));

/** The check whose result on the same subject absorbs this check's, if any. */
export const absorberOf = (checkId: string): string | undefined => ABSORBED_BY_ID.get(checkId);
