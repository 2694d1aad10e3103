// Wire messages are untrusted input: every field is checked and bounded here, and turned
// into the pipeline's domain types. A violation is permanent (INVALID_ARGUMENT).
//
// What an agent reports is redacted again here, before anything is stored, logged or sent
// (an older or hostile agent may send a command line with its secrets): every string of a
// finding's detail but the fields its subject is made of, and the text of a result (actual,
// expected, reason). Subjects, check ids and titles are left as sent: the subject is the
// finding's identity (fingerprint), and redaction must never split or merge findings.
//
// The NUL character (U+0000), which no PostgreSQL text or jsonb holds (proto/support/escape.ts),
// is stored by neither backend. A string field refuses it (`text`: names, paths, keys, check
// ids, subjects, the agent's version, enumerations; no real one holds a NUL), unless the field
// is free text (`prose`: titles, remediation, reasons, actual and expected values, command
// lines, what the host says it runs, and every string and property name of a detail document),
// where each NUL is written as `\x00`, visible and stored.
import {
  isCategory, isFindingStatus, severityFromWire, statusFromWire, SOURCES, type Source,
} from '../../proto/domain.js';
import { PROC_FAKE_CONTAINER_CGROUP_CHECK, PROCESS_DETAIL_CHECK_IDS } from '../../proto/process-checks.js';
import type { ProcessDetail__Output } from '../../proto/gen/nodeward/v1/ProcessDetail.js';
import type {
  FindingBatch__Output, Hello__Output, ScanReport__Output, AgentStats__Output, BaselineReport__Output,
} from '../../proto/load.js';
import {
  isHostKey, isValidBaselineKey, isValidExecutable, itemSourceFromWire, LEGACY_HOST_KEY, MAX_EXECUTABLE_CHARS, PROCESS_IDENTITY_FIELDS,
} from '../../proto/baseline-key.js';
import {
  DIGEST_SOURCES, IDENTITY_ERRORS, ITEM_DIGEST_LIMITS, SHA256_HEX, STDIO_FAMILIES, STDIO_KINDS, type DigestSource,
} from '../../proto/exec-identity.js';
import { redactJson, redactText } from '../../proto/support/redact.js';
import { escapeNul, escapeNulJson, NUL } from '../../proto/support/escape.js';
import { BENCHMARK_NAME, BENCHMARK_REF, legacyReferences, MAX_REFERENCES, reportBenchmark } from '../../proto/benchmark-refs.js';
import type { NodeHello, NodeStats, ReportedBaseline, ReportedDigest } from '../store/store.js';
import { LOCKED_BY, type LockedBy, type ReportedHostWindow } from '../pipeline/host-learning.js';
import type { IncomingBatch, IncomingFinding, IncomingResult, IncomingScan } from '../pipeline/types.js';
import { exposureFromWire, isListenItem } from './exposure.js';
import { MAX_LISTENS_PER_BASELINE } from '../store/store.js';
import { isoTime, TIME_MAX_MS, TIME_MIN_MS } from '../store/time.js';

export class InvalidMessage extends Error {
  readonly code = 'INVALID_ARGUMENT';
}

export const LIMITS = {
  resultsPerReport: 5000,
  findingsPerBatch: 1000,
  scopeEntries: 2000,
  shortText: 256,
  subject: 1024,
  text: 4096,
  detail: 16384,
  certificates: 256,
  occurrences: 1_000_000,
  /** AgentStats counters: the largest integer a JSON number (and the API's reader) holds exactly. */
  counter: Number.MAX_SAFE_INTEGER,
} as const;

const CHECK_ID = /^[a-z0-9][a-z0-9.\-_]{0,63}$/;
const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;

/** A string within its bound, as it was sent. */
function bounded(field: string, v: unknown, max: number, required: boolean): string {
  if (typeof v !== 'string') throw new InvalidMessage(`${field} must be a string`);
  if (required && v.length === 0) throw new InvalidMessage(`${field} is required`);
  if (v.length > max) throw new InvalidMessage(`${field} is longer than ${max} characters`);
  return v;
}

/** A name, path, key or identifier: a string within its bound, without the NUL character. */
function text(field: string, v: unknown, max: number, required = false): string {
  const s = bounded(field, v, max, required);
  if (s.includes(NUL)) throw new InvalidMessage(`${field} holds the NUL character (U+0000) at ${s.indexOf(NUL)}: a name, path or identifier cannot`);
  return s;
}

/**
 * Free text: a string within its bound, each NUL written as `\x00` (escapeNul). The bound holds
 * for what is stored: text grown past it by escaping is refused.
 */
function prose(field: string, v: unknown, max: number): string {
  const out = escapeNul(bounded(field, v, max, false));
  if (out.length > max) throw new InvalidMessage(`${field} is longer than ${max} characters once its NUL characters are escaped`);
  return out;
}

/**
 * A text that is redacted before it is stored: free text (`prose`), or a path (`text`). The
 * bound holds for what is stored: an agent that redacts (the same redactor) sends text that
 * redaction leaves as it is; one that does not may grow by redaction (`-p1` becomes
 * `-p<redacted>`) and is refused past the bound.
 */
function redacted(field: string, v: unknown, max: number, read: typeof prose | typeof text = prose): string {
  const out = redactText(read(field, v, max));
  if (out.length > max) throw new InvalidMessage(`${field} is longer than ${max} characters once its secrets are redacted`);
  return out;
}

function checkId(field: string, v: unknown): string {
  const s = text(field, v, 64, true);
  if (!CHECK_ID.test(s)) throw new InvalidMessage(`${field} ${JSON.stringify(s)} is not a check id (lower-case letters, digits, '.', '-', '_')`);
  return s;
}

function count(field: string, v: unknown): number {
  const n = typeof v === 'number' ? v : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidMessage(`${field} must be a non-negative integer`);
  return n;
}

function occurrences(field: string, v: unknown): number {
  const n = count(field, v);
  if (n > LIMITS.occurrences) throw new InvalidMessage(`${field} is larger than ${LIMITS.occurrences}`);
  return Math.max(1, n);
}

const HOUR_MS = 3600_000;
const YEAR_MS = 365 * 24 * HOUR_MS;

/**
 * How far an agent's time may lie from the time the collector received it (its own clock,
 * `now`), per kind of time. A bound left out is the absolute one: stored times lie between
 * TIME_MIN_MS and TIME_MAX_MS (store/time.ts), which every Date and RFC 3339 can state.
 */
export interface TimeWindow {
  readonly pastMs?: number;
  readonly futureMs?: number;
}

export const WIRE_TIMES = {
  /**
   * Finding.observed_at_ms and ScanReport.scanned_at_ms: when the agent saw it.
   * Future: one hour of clock skew. A time ahead of the collector's clock would sort first in
   * every "most recent" view, hold a finding's last_seen (the latest time wins) and a node's
   * results (an older evaluation never replaces a newer one) for as long as it stays ahead,
   * and put a resolution beyond retention. NTP keeps nodes within milliseconds and a free
   * running clock drifts seconds a day: an hour ahead is a broken clock, and what it dates is
   * refused and counted (the node's agentDrops.rejected) rather than stored.
   * Past: ten years, generous on purpose. A message waits in the agent's spool through any
   * outage (a node powered off for months keeps its spool), and an old time harms nothing:
   * it sorts last and ages out of retention sooner. What it refuses is a clock reset to 1970.
   */
  observed: { pastMs: 10 * YEAR_MS, futureMs: HOUR_MS },
  /**
   * BaselineItem.first_seen_ms and ItemDigest.first_seen_ms: when an executable, or one content
   * of it, joined a baseline (0: unknown, read as the time of receipt). Baselines outlive
   * agents, restarts and node upgrades, so any time after 1970 may be true; the future bound is
   * the skew above.
   */
  baselineItem: { futureMs: HOUR_MS },
  /**
   * CertificateExpiry.not_after_ms: any expiry X.509 can state, not relative to now. An expired
   * certificate is reported too, and 9999-12-31T23:59:59Z is GeneralizedTime's last second,
   * the "no well-defined expiration" of RFC 5280 that Go and OpenSSL write; TIME_MAX_MS is its
   * last millisecond, far below the end of a JavaScript Date (8.64e15 ms, year 275760).
   */
  certificateExpiry: {},
  /**
   * AgentBaseline.learn_until_ms: when the agent's learning window of a baseline ends (or
   * ended), on the node's clock. Windows are set by the agent's configuration (a day for the
   * host by default, without an upper bound) and baselines outlive restarts, so any time is
   * possible; the collector only shows it (GET /nodes hostLearning).
   */
  learnUntil: {},
} as const satisfies Record<string, TimeWindow>;

/**
 * The one check for every time an agent sends: an integer number of unix milliseconds inside
 * `window` around `now`, the collector's clock at receipt (passed in, never read here).
 * 0 means unset: refused as missing unless `optional`, then returned as 0.
 */
export function wireTime(field: string, v: unknown, window: TimeWindow, now: number, optional = false): number {
  if (v === 0 && optional) return 0;
  if (v === 0) throw new InvalidMessage(`${field} is required`);
  const earliest = Math.max(TIME_MIN_MS + 1, window.pastMs === undefined ? TIME_MIN_MS : now - window.pastMs);
  const latest = Math.min(TIME_MAX_MS, window.futureMs === undefined ? TIME_MAX_MS : now + window.futureMs);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < earliest || v > latest) {
    const got = typeof v === 'number' ? String(v) : typeof v;
    throw new InvalidMessage(`${field} ${got} is not a time from ${isoTime(earliest)} to ${isoTime(latest)} in unix milliseconds (the collector's clock reads ${isoTime(now)})`);
  }
  return v;
}

function sequence(v: unknown): number {
  const n = count('sequence', v);
  if (n === 0) throw new InvalidMessage('sequence must be 1 or more');
  return n;
}

export function validateEpoch(v: unknown): string {
  const s = text('hello.epoch', v, 64, true);
  if (!EPOCH.test(s)) throw new InvalidMessage('hello.epoch must be 1-64 characters of letters, digits, - and _');
  return s;
}

/** The key of the node's host baseline; an older agent sends none and uses the legacy `host`. */
function hostBaselineKey(v: string): string {
  if (v === '') return LEGACY_HOST_KEY;
  if (!isHostKey(v)) throw new InvalidMessage(`hello.hostBaselineKey ${JSON.stringify(v.slice(0, 100))} is not a host baseline key (host/control-plane or host/worker)`);
  return v;
}

/** `now`: the collector's clock when the hello arrived. */
export function helloFromWire(h: Hello__Output, node: string, now: number): NodeHello & { baselineVersion: number; hostBaselineKey: string } {
  const host = h.host;
  const certs = host?.certificates ?? [];
  if (certs.length > LIMITS.certificates) throw new InvalidMessage(`hello.host.certificates has more than ${LIMITS.certificates} entries`);
  return {
    node,
    agentVersion: text('hello.agentVersion', h.agentVersion, LIMITS.shortText),
    epoch: validateEpoch(h.epoch),
    // What the host says it runs (os-release's name, uname's release, the kubelet's --version):
    // free text, which must not cut a node off (a refused hello ends its stream).
    os: prose('hello.host.os', host?.os ?? '', LIMITS.shortText),
    kernel: prose('hello.host.kernel', host?.kernel ?? '', LIMITS.shortText),
    arch: text('hello.host.arch', host?.arch ?? '', LIMITS.shortText),
    kubeletVersion: prose('hello.host.kubeletVersion', host?.kubeletVersion ?? '', LIMITS.shortText),
    cpus: count('hello.host.cpus', host?.cpus ?? 0),
    memoryBytes: count('hello.host.memoryBytes', host?.memoryBytes ?? 0),
    uptimeSeconds: count('hello.host.uptimeSeconds', host?.uptimeSeconds ?? 0),
    certificates: certs.map((c, i) => ({
      path: text(`hello.host.certificates[${i}].path`, c.path, LIMITS.subject, true),
      notAfter: isoTime(wireTime(`hello.host.certificates[${i}].notAfterMs`, c.notAfterMs, WIRE_TIMES.certificateExpiry, now)),
    })),
    baselineVersion: count('hello.baselineVersion', h.baselineVersion),
    hostBaselineKey: hostBaselineKey(h.hostBaselineKey ?? ''),
  };
}

const EXEC_SOURCE = /^[a-z0-9-]{1,32}$/;
/** A limit a host document passed (bytes, depth, aliases, ...; a later agent may name another), or none. */
const REFUSAL_REASON = /^[a-z0-9-]{0,32}$/;

function refusalReason(field: string, v: string): string {
  if (!REFUSAL_REASON.test(v)) throw new InvalidMessage(`stats.${field} ${JSON.stringify(v.slice(0, 40))} is not a reason (up to 32 of a-z, 0-9, '-')`);
  return v;
}

/**
 * AgentStats.exec_source: a short lower-case name (ebpf, netlink, scan; a later agent may name
 * another). Agents that predate it send none, and their exec_coverage says which they run:
 * "event" was the netlink connector, "scan" no events.
 */
function execSource(v: string, coverage: string): string {
  if (v === '') return coverage === 'event' ? 'netlink' : coverage === 'scan' ? 'scan' : '';
  if (!EXEC_SOURCE.test(v)) throw new InvalidMessage(`stats.execSource ${JSON.stringify(v.slice(0, 40))} is not a source name (1 to 32 of a-z, 0-9, '-')`);
  return v;
}

/**
 * An agent's counters are clamped, not refused: a value above LIMITS.counter (a uint64 the
 * API could not state exactly) is kept as LIMITS.counter and named in `clamped`, because
 * refusing a hello over a broken counter would cut the node off. A string over its bound is
 * refused like any other.
 */
export function statsFromWire(st: AgentStats__Output | null | undefined): { stats: NodeStats; clamped: string[] } {
  const clamped: string[] = [];
  const counter = (name: Exclude<keyof AgentStats__Output, 'execCoverage' | 'execSource' | 'execSourceReason' | 'hostDocumentRefusedPath' | 'hostDocumentRefusedReason' | 'execIdentityFailedReason' | 'exposureNativeReader'>): number => {
    const v = st?.[name] ?? 0;
    if (typeof v === 'number' && v > LIMITS.counter) {
      clamped.push(`stats.${name}`);
      return LIMITS.counter;
    }
    return count(`stats.${name}`, v);
  };
  const execCoverage = text('stats.execCoverage', st?.execCoverage ?? '', 32);
  const stats: NodeStats = {
    spoolEntries: counter('spoolEntries'),
    spoolBytes: counter('spoolBytes'),
    spoolDropped: counter('spoolDropped'),
    rejected: counter('rejected'),
    execCoverage,
    execSource: execSource(st?.execSource ?? '', execCoverage),
    execSourceReason: redacted('stats.execSourceReason', st?.execSourceReason ?? '', LIMITS.shortText * 4),
    processEventsCapped: counter('processEventsCapped'),
    processEventsLost: counter('processEventsLost'),
    execEventsLost: counter('execEventsLost'),
    execRingLost: counter('execRingLost'),
    execUnjudged: counter('execUnjudged'),
    execRecordsPartial: counter('execRecordsPartial'),
    execFakeContainer: counter('execFakeContainer'),
    execHostNamespace: counter('execHostNamespace'),
    execBatches: counter('execBatches'),
    baselineItemsDropped: counter('baselineItemsDropped'),
    baselineKeysEvicted: counter('baselineKeysEvicted'),
    baselineReportDropped: counter('baselineReportDropped'),
    hostDocumentsRefused: counter('hostDocumentsRefused'),
    // A host path: redacted like any text a node sends, bounded like a subject.
    hostDocumentRefusedPath: redacted('stats.hostDocumentRefusedPath', st?.hostDocumentRefusedPath ?? '', LIMITS.subject, text),
    hostDocumentRefusedReason: refusalReason('hostDocumentRefusedReason', st?.hostDocumentRefusedReason ?? ''),
    execIdentityFailed: counter('execIdentityFailed'),
    execIdentityFailedReason: refusalReason('execIdentityFailedReason', st?.execIdentityFailedReason ?? ''),
    execEvents: counter('execEvents'),
    lastScanDurationMs: counter('lastScanDurationMs'),
    exposureWalkPidLimitHits: counter('exposureWalkPidLimitHits'),
    exposureWalkTimeLimitHits: counter('exposureWalkTimeLimitHits'),
    exposureWalkFdLimitHits: counter('exposureWalkFdLimitHits'),
    exposureWalkUnreadable: counter('exposureWalkUnreadable'),
    exposureRowsRefused: counter('exposureRowsRefused'),
    exposureListenersDropped: counter('exposureListenersDropped'),
    exposureNativeReader: st?.exposureNativeReader === true,
  };
  return { stats, clamped };
}

/**
 * A result's benchmark references: each `<benchmark>:<control>` (proto/benchmark-refs.ts), at
 * most MAX_REFERENCES, no repeats. None from an agent that predates them (up to 0.2.x): the
 * report's benchmark and the result's `cis`.
 */
function references(field: string, v: unknown, benchmark: string, cis: string): string[] {
  const refs = texts(field, v ?? [], MAX_REFERENCES, 64);
  if (refs.length === 0) return legacyReferences(benchmark, cis);
  refs.forEach((x, i) => {
    if (!BENCHMARK_REF.test(x)) throw new InvalidMessage(`${field}[${i}] ${JSON.stringify(x)} is not a benchmark reference (<benchmark>:<control>, e.g. cis-1.12:4.2.1)`);
  });
  if (new Set(refs).size !== refs.length) throw new InvalidMessage(`${field} names a reference twice`);
  return refs;
}

export function scanFromWire(r: ScanReport__Output, node: string, epoch: string, now: number): IncomingScan {
  if (r.results.length > LIMITS.resultsPerReport) throw new InvalidMessage(`scanReport has ${r.results.length} results; at most ${LIMITS.resultsPerReport}`);
  if (r.scope.length > LIMITS.scopeEntries) throw new InvalidMessage(`scanReport.scope has more than ${LIMITS.scopeEntries} entries`);
  const scope = r.scope.map((s, i) => checkId(`scanReport.scope[${i}]`, s));
  // Stored per node and counted by (the summary's compliance per benchmark): a name, or none (cis-1.12).
  const benchmark = reportBenchmark(text('scanReport.benchmark', r.benchmark, 64));
  if (!BENCHMARK_NAME.test(benchmark)) throw new InvalidMessage(`scanReport.benchmark ${JSON.stringify(benchmark)} is not a benchmark name (lower-case letters, digits, '.', '-', '_'; at most 32; e.g. cis-1.12)`);
  const results = r.results.map((x, i): IncomingResult => {
    const f = `scanReport.results[${i}]`;
    const status = statusFromWire(x.status);
    if (!status) throw new InvalidMessage(`${f}.status ${JSON.stringify(x.status)} is not a status`);
    const severity = severityFromWire(x.severity);
    if (!severity) throw new InvalidMessage(`${f}.severity ${JSON.stringify(x.severity)} is not a severity`);
    if (!isCategory(x.category)) throw new InvalidMessage(`${f}.category ${JSON.stringify(x.category)} is not a category`);
    const source = x.source === '' ? 'none' : x.source;
    if (!(SOURCES as readonly string[]).includes(source)) throw new InvalidMessage(`${f}.source ${JSON.stringify(x.source)} is not a source`);
    return {
      checkId: checkId(`${f}.checkId`, x.checkId),
      cis: text(`${f}.cis`, x.cis, 32),
      references: references(`${f}.references`, x.references, benchmark, x.cis),
      title: prose(`${f}.title`, x.title, LIMITS.shortText * 2),
      category: x.category,
      subject: text(`${f}.subject`, x.subject, LIMITS.subject, true),
      status,
      severity,
      scored: x.scored === true,
      actual: redacted(`${f}.actual`, x.actual, LIMITS.text),
      expected: redacted(`${f}.expected`, x.expected, LIMITS.text),
      source: source as Source,
      sourceFile: text(`${f}.sourceFile`, x.sourceFile, LIMITS.subject),
      reason: redacted(`${f}.reason`, x.reason, LIMITS.text),
      remediation: prose(`${f}.remediation`, x.remediation, LIMITS.text),
      occurrences: occurrences(`${f}.occurrences`, x.occurrences),
    };
  });
  const exposure = r.exposure ? exposureFromWire(r.exposure) : null;
  if (typeof exposure === 'string') throw new InvalidMessage(exposure);
  return {
    node, epoch, sequence: sequence(r.sequence), scannedAt: wireTime('scanReport.scannedAtMs', r.scannedAtMs, WIRE_TIMES.observed, now),
    benchmark, scope, results,
    trigger: text('scanReport.trigger', r.trigger, 32),
    ...(exposure ? { exposure } : {}),
  };
}

/**
 * A detail object (parsed once by detailFromWire) redacted and written as the JSON that is
 * stored: free text, every string of it (property names too) with its NULs escaped, so the JSON
 * holds no `\u0000` escape (jsonb on PostgreSQL would decode it, and refuses it).
 */
function redactedDetail(field: string, detail: object): string {
  const out = escapeNulJson(JSON.stringify(redactJson(detail, PROCESS_IDENTITY_FIELDS)));
  if (out.length > LIMITS.detail) throw new InvalidMessage(`${field} is longer than ${LIMITS.detail} characters once its secrets are redacted and its NUL characters escaped`);
  return out;
}

/** Bounds of a ProcessDetail (agent.proto) besides the strings' own. */
export const PROCESS_DETAIL_LIMITS = { parents: 16, missing: 16, baselineSha256: ITEM_DIGEST_LIMITS.perItem, stdio: 3 } as const;

const WORKLOAD_SOURCES: readonly string[] = ['pod-name', 'collector'];

function flag(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new InvalidMessage(`${field} must be a boolean`);
  return v;
}

function texts(field: string, v: unknown, maxEntries: number, maxChars: number): string[] {
  if (!Array.isArray(v)) throw new InvalidMessage(`${field} must be a list`);
  if (v.length > maxEntries) throw new InvalidMessage(`${field} has ${v.length} entries; at most ${maxEntries}`);
  return v.map((s, i) => text(`${field}[${i}]`, s, maxChars));
}

/** A nested message: null when unset, else an object. */
function nested(field: string, v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidMessage(`${field} must be a message`);
  return v as Record<string, unknown>;
}

/** One of `allowed` (a short enumerated text). */
function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T {
  const s = text(field, v, 32);
  if (!(allowed as readonly string[]).includes(s)) throw new InvalidMessage(`${field} ${JSON.stringify(s)} is not one of ${allowed.join(', ')}`);
  return s as T;
}

/** A SHA-256 digest: 64 lowercase hex characters (or empty, unless `required`). */
function sha256(field: string, v: unknown, required: boolean): string {
  const s = text(field, v, 64);
  if (s === '' && !required) return s;
  if (!SHA256_HEX.test(s)) throw new InvalidMessage(`${field} must be 64 lowercase hex characters${required ? '' : ' or empty'}`);
  return s;
}

const UINT32_MAX = 2 ** 32 - 1;

function uid32(field: string, v: unknown): number {
  const n = count(field, v);
  if (n > UINT32_MAX) throw new InvalidMessage(`${field} is larger than ${UINT32_MAX}`);
  return n;
}

/** ExecutableIdentity.vouched_by: `<package manager>:<package>` (dpkg:libc6:amd64, rpm:bash), or empty. */
const VOUCHED_BY = /^[a-z][a-z0-9]{0,15}:[^\s\u0000-\u001f\u007f]+$/;
/** ExecutableIdentity.not_vouched: a reason code (not-owned, digest-differs, no-database, ...), or empty. */
const REASON_CODE = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * ProcessDetail.identity: what ran. Exactly one of sha256 (it was hashed) and error (why it
 * could not be: an enumerated code, with a free detail); the baseline's contents it was
 * compared with; the package manager's word on it.
 */
function executableIdentity(field: string, v: Record<string, unknown>): Record<string, unknown> {
  const S = LIMITS.shortText;
  const digest = sha256(`${field}.sha256`, v.sha256, false);
  const error = v.error === '' ? '' : oneOf(`${field}.error`, v.error, IDENTITY_ERRORS);
  if (digest === '' && error === '') throw new InvalidMessage(`${field} has neither sha256 nor error: a file that could not be hashed says why`);
  if (digest !== '' && error !== '') throw new InvalidMessage(`${field} has both sha256 and error (${error}): one or the other`);
  const baseline = v.baselineSha256;
  if (!Array.isArray(baseline)) throw new InvalidMessage(`${field}.baselineSha256 must be a list`);
  if (baseline.length > PROCESS_DETAIL_LIMITS.baselineSha256) throw new InvalidMessage(`${field}.baselineSha256 has ${baseline.length} entries; at most ${PROCESS_DETAIL_LIMITS.baselineSha256}`);
  const vouchedBy = text(`${field}.vouchedBy`, v.vouchedBy, S);
  if (vouchedBy !== '' && !VOUCHED_BY.test(vouchedBy)) throw new InvalidMessage(`${field}.vouchedBy must be <package manager>:<package> (dpkg:bash) or empty`);
  const notVouched = text(`${field}.notVouched`, v.notVouched, 64);
  if (notVouched !== '' && !REASON_CODE.test(notVouched)) throw new InvalidMessage(`${field}.notVouched must be a reason code (lower-case letters, digits, '-') or empty`);
  return {
    sha256: digest,
    size: count(`${field}.size`, v.size),
    error,
    errorDetail: prose(`${field}.errorDetail`, v.errorDetail, S * 4),
    baselineSha256: baseline.map((d, i) => sha256(`${field}.baselineSha256[${i}]`, d, true)),
    vouchedBy,
    notVouched,
  };
}

/** ProcessDetail.context: the three standard descriptors at the exec, and the interpreter or loader it is. */
function execContext(field: string, v: Record<string, unknown>): Record<string, unknown> {
  const S = LIMITS.shortText;
  const stdio = v.stdio;
  if (!Array.isArray(stdio)) throw new InvalidMessage(`${field}.stdio must be a list`);
  if (stdio.length !== PROCESS_DETAIL_LIMITS.stdio) throw new InvalidMessage(`${field}.stdio has ${stdio.length} entries; exactly 3 (stdin, stdout, stderr)`);
  return {
    stdio: stdio.map((x, i) => {
      const f = `${field}.stdio[${i}]`;
      const m = nested(f, x);
      if (m === null) throw new InvalidMessage(`${f} is required`);
      const kind = oneOf(`${f}.kind`, m.kind, STDIO_KINDS);
      const family = m.family === '' ? '' : oneOf(`${f}.family`, m.family, STDIO_FAMILIES);
      if (family !== '' && kind !== 'socket') throw new InvalidMessage(`${f}.family is only for a socket, not ${kind}`);
      return { kind, family };
    }),
    interpreter: text(`${field}.interpreter`, v.interpreter, S),
    inlineFlag: text(`${field}.inlineFlag`, v.inlineFlag, 32),
    loader: text(`${field}.loader`, v.loader, MAX_EXECUTABLE_CHARS),
    loadedProgram: text(`${field}.loadedProgram`, v.loadedProgram, MAX_EXECUTABLE_CHARS),
  };
}

/**
 * A typed process detail (Finding.process), checked field by field, as the JSON object an
 * agent of 0.1.0 sent in detail_json (agent/processes/findings.ts, same keys in the same order),
 * so store, API and webhooks see one shape whichever the agent sent. `seen` is the Finding's.
 * Redaction is not done here: the object goes through the same redactedDetail as detail_json.
 */
export function processDetailFromWire(field: string, p: ProcessDetail__Output, checkId: string, seen: string): Record<string, unknown> {
  const S = LIMITS.shortText;
  const c = nested(`${field}.container`, p.container);
  const w = nested(`${field}.workload`, p.workload);
  const k = nested(`${field}.kernel`, p.kernel);
  const fc = nested(`${field}.fakeContainer`, p.fakeContainer);
  const id = nested(`${field}.identity`, p.identity);
  const cx = nested(`${field}.context`, p.context);
  if (checkId === PROC_FAKE_CONTAINER_CGROUP_CHECK.id && fc === null) throw new InvalidMessage(`${field}.fakeContainer is required for ${checkId}`);
  const out: Record<string, unknown> = {
    baseline: processBaseline(`${field}.baseline`, p.baseline),
    exe: text(`${field}.exe`, p.exe, MAX_EXECUTABLE_CHARS, true),
    exeDeleted: flag(`${field}.exeDeleted`, p.exeDeleted),
    pid: count(`${field}.pid`, p.pid),
    ppid: count(`${field}.ppid`, p.ppid),
    parents: texts(`${field}.parents`, p.parents, PROCESS_DETAIL_LIMITS.parents, MAX_EXECUTABLE_CHARS),
    uid: count(`${field}.uid`, p.uid),
    user: text(`${field}.user`, p.user, S),
    cmdline: prose(`${field}.cmdline`, p.cmdline, LIMITS.text),
    container: c && {
      id: text(`${field}.container.id`, c.id, S, true),
      name: text(`${field}.container.name`, c.name, S),
      runtime: text(`${field}.container.runtime`, c.runtime, S),
    },
    pod: text(`${field}.pod`, p.pod, S),
    podUid: text(`${field}.podUid`, p.podUid, S),
    namespace: text(`${field}.namespace`, p.namespace, S),
    workload: w && {
      kind: text(`${field}.workload.kind`, w.kind, S, true),
      name: text(`${field}.workload.name`, w.name, S, true),
      source: workloadSource(`${field}.workload.source`, w.source),
    },
    startedAtMs: count(`${field}.startedAtMs`, p.startedAtMs),
    seen,
    partial: flag(`${field}.partial`, p.partial),
    missing: texts(`${field}.missing`, p.missing, PROCESS_DETAIL_LIMITS.missing, S),
  };
  if (k) {
    out.kernel = {
      filename: text(`${field}.kernel.filename`, k.filename, MAX_EXECUTABLE_CHARS),
      ino: count(`${field}.kernel.ino`, k.ino),
      dev: count(`${field}.kernel.dev`, k.dev),
      nlink: count(`${field}.kernel.nlink`, k.nlink),
      fsKind: text(`${field}.kernel.fsKind`, k.fsKind, 32),
      cgroupId: count(`${field}.kernel.cgroupId`, k.cgroupId),
      mntNs: count(`${field}.kernel.mntNs`, k.mntNs),
      pidNs: count(`${field}.kernel.pidNs`, k.pidNs),
      uid: count(`${field}.kernel.uid`, k.uid),
      gid: count(`${field}.kernel.gid`, k.gid),
      egid: count(`${field}.kernel.egid`, k.egid),
      comm: text(`${field}.kernel.comm`, k.comm, 64),
    };
  }
  if (fc) {
    out.fakeContainer = {
      cgroupPath: text(`${field}.fakeContainer.cgroupPath`, fc.cgroupPath, LIMITS.subject, true),
      id: text(`${field}.fakeContainer.id`, fc.id, S),
      reason: prose(`${field}.fakeContainer.reason`, fc.reason, S * 4),
    };
  }
  // Fields of agents from 0.2 on: present in the stored detail only when the agent set them.
  if (id) out.identity = executableIdentity(`${field}.identity`, id);
  const eff = nested(`${field}.effective`, p.effective);
  if (eff !== null) {
    out.euid = uid32(`${field}.effective.uid`, eff.uid ?? 0);
    out.effectiveUser = text(`${field}.effective.user`, eff.user ?? '', S);
  }
  if (cx) out.context = execContext(`${field}.context`, cx);
  return out;
}

/** The same keys a BaselineReport may carry (the agent judges a process against one of its baselines). */
function processBaseline(field: string, v: unknown): string {
  const s = text(field, v, LIMITS.subject, true);
  if (!isValidBaselineKey(s)) throw new InvalidMessage(`${field} ${JSON.stringify(s.slice(0, 100))} is not a baseline key`);
  return s;
}

function workloadSource(field: string, v: unknown): string {
  const s = text(field, v, 32);
  if (!WORKLOAD_SOURCES.includes(s)) throw new InvalidMessage(`${field} must be one of ${WORKLOAD_SOURCES.join(', ')}`);
  return s;
}

/**
 * A finding's detail as an object, before redaction: the typed process detail when the agent
 * sent one (only for the process checks, and never with detail_json as well), else detail_json
 * ('{}' when empty), which must be a JSON object. Parsed here once; redactedDetail writes it.
 */
function detailFromWire(f: string, x: FindingBatch__Output['findings'][number], checkId: string, seen: string): object {
  const detailJson = text(`${f}.detailJson`, x.detailJson, LIMITS.detail);
  const process = nested(`${f}.process`, x.process);
  if (process !== null) {
    if (!PROCESS_DETAIL_CHECK_IDS.includes(checkId)) throw new InvalidMessage(`${f}.process is only for the process checks (${PROCESS_DETAIL_CHECK_IDS.join(', ')}), not ${checkId}`);
    if (detailJson !== '') throw new InvalidMessage(`${f} has both detailJson and process; an agent sends one`);
    const detail = processDetailFromWire(`${f}.process`, process as unknown as ProcessDetail__Output, checkId, seen);
    // The bound of detail_json, on the same JSON: a typed detail holds no more than an old one could.
    if (JSON.stringify(detail).length > LIMITS.detail) throw new InvalidMessage(`${f}.process is longer than ${LIMITS.detail} characters as JSON`);
    return detail;
  }
  const detail = detailJson || '{}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail);
  } catch {
    throw new InvalidMessage(`${f}.detailJson is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidMessage(`${f}.detailJson must be a JSON object`);
  return parsed;
}

export function batchFromWire(b: FindingBatch__Output, node: string, epoch: string, now: number): IncomingBatch {
  if (b.findings.length > LIMITS.findingsPerBatch) throw new InvalidMessage(`findingBatch has ${b.findings.length} findings; at most ${LIMITS.findingsPerBatch}`);
  const findings = b.findings.map((x, i): IncomingFinding => {
    const f = `findingBatch.findings[${i}]`;
    const status = statusFromWire(x.status);
    if (!status || !isFindingStatus(status)) throw new InvalidMessage(`${f}.status must be STATUS_FAIL or STATUS_WARN`);
    const severity = severityFromWire(x.severity);
    if (!severity) throw new InvalidMessage(`${f}.severity ${JSON.stringify(x.severity)} is not a severity`);
    if (!isCategory(x.category)) throw new InvalidMessage(`${f}.category ${JSON.stringify(x.category)} is not a category`);
    const seen = x.seen === '' ? 'scan' : x.seen;
    if (seen !== 'event' && seen !== 'scan') throw new InvalidMessage(`${f}.seen must be "event" or "scan"`);
    const id = checkId(`${f}.checkId`, x.checkId);
    const detail = detailFromWire(f, x, id, seen);
    return {
      checkId: id,
      subject: text(`${f}.subject`, x.subject, LIMITS.subject, true),
      title: prose(`${f}.title`, x.title, LIMITS.shortText * 2),
      category: x.category,
      severity,
      status,
      observedAt: wireTime(`${f}.observedAtMs`, x.observedAtMs, WIRE_TIMES.observed, now),
      occurrences: occurrences(`${f}.occurrences`, x.occurrences),
      seen,
      remediation: prose(`${f}.remediation`, x.remediation, LIMITS.text),
      detail: redactedDetail(x.process ? `${f}.process` : `${f}.detailJson`, detail),
    };
  });
  return { node, epoch, sequence: sequence(b.sequence), findings };
}

/** The bounds of a BaselineReport (documented next to it in agent.proto). */
export const BASELINE_REPORT_LIMITS = {
  baselines: 64, items: 16_384, pathChars: 1024 * 1024, itemsPerBaseline: 2048, removedPerBaseline: 2048,
} as const;

const STATES = { BASELINE_STATE_LEARNING: 'learning', BASELINE_STATE_LOCKED: 'locked' } as const;

/** AgentBaseline.locked_by: empty while learning, else how it locked. */
function lockedBy(field: string, v: unknown): LockedBy | '' {
  if (v === '' || v === undefined || v === null) return '';
  if (typeof v === 'string' && (LOCKED_BY as readonly string[]).includes(v)) return v as LockedBy;
  throw new InvalidMessage(`${field} ${JSON.stringify(String(v).slice(0, 40))} must be empty, window or operator`);
}

/** BaselineItem.digests: at most ITEM_DIGEST_LIMITS.perItem contents, each a digest, a source, an image, a time. */
function itemDigests(field: string, v: unknown, now: number): ReportedDigest[] {
  const L = ITEM_DIGEST_LIMITS;
  if (!Array.isArray(v)) throw new InvalidMessage(`${field} must be a list`);
  if (v.length > L.perItem) throw new InvalidMessage(`${field} has ${v.length} entries; at most ${L.perItem}`);
  return v.map((x, k) => {
    const f = `${field}[${k}]`;
    const d = nested(f, x);
    if (d === null) throw new InvalidMessage(`${f} is required`);
    return {
      sha256: sha256(`${f}.sha256`, d.sha256, true),
      source: oneOf<DigestSource>(`${f}.source`, d.source, DIGEST_SOURCES),
      image: text(`${f}.image`, d.image, L.imageChars),
      firstSeen: wireTime(`${f}.firstSeenMs`, d.firstSeenMs, WIRE_TIMES.baselineItem, now, true),
    };
  });
}

function executable(field: string, v: unknown): string {
  const s = text(field, v, MAX_EXECUTABLE_CHARS, true);
  if (!isValidExecutable(s)) throw new InvalidMessage(`${field} must be an absolute path without control characters`);
  return s;
}

/** A reported baseline as the store merges it, with what the node said of its learning window. */
export type ReportedAgentBaseline = ReportedBaseline & Required<Pick<ReportedHostWindow, 'learnUntil' | 'lockedBy'>>;

export function baselineReportFromWire(r: BaselineReport__Output, now: number): { baselineVersion: number; baselines: ReportedAgentBaseline[] } {
  const L = BASELINE_REPORT_LIMITS;
  if (r.baselines.length > L.baselines) throw new InvalidMessage(`baselineReport has ${r.baselines.length} baselines; at most ${L.baselines}`);
  let items = 0;
  let chars = 0;
  const baselines = r.baselines.map((b, i): ReportedAgentBaseline => {
    const f = `baselineReport.baselines[${i}]`;
    if (!isValidBaselineKey(b.key)) throw new InvalidMessage(`${f}.key ${JSON.stringify(b.key.slice(0, 100))} is not a baseline key (host/control-plane, host/worker, host, <namespace>/<Kind>/<workload>/<container> or container:<id>)`);
    const state = STATES[b.state as keyof typeof STATES];
    if (!state) throw new InvalidMessage(`${f}.state must be BASELINE_STATE_LEARNING or BASELINE_STATE_LOCKED`);
    if (b.items.length > L.itemsPerBaseline) throw new InvalidMessage(`${f} has ${b.items.length} items; at most ${L.itemsPerBaseline}`);
    if (b.removed.length > L.removedPerBaseline) throw new InvalidMessage(`${f} has ${b.removed.length} removed; at most ${L.removedPerBaseline}`);
    items += b.items.length + b.removed.length;
    if (items > L.items) throw new InvalidMessage(`baselineReport has more than ${L.items} items`);
    b.removed.forEach((p, j) => { chars += executable(`${f}.removed[${j}]`, p).length; });
    const rawListens: readonly unknown[] = b.listens ?? [];
    if (!Array.isArray(rawListens)) throw new InvalidMessage(`${f}.listens must be a list`);
    if (rawListens.length > MAX_LISTENS_PER_BASELINE) throw new InvalidMessage(`${f} has ${rawListens.length} listens; at most ${MAX_LISTENS_PER_BASELINE}`);
    const listens = rawListens.map((l, j) => {
      if (typeof l !== 'string' || l.length > 64 || !isListenItem(l)) throw new InvalidMessage(`${f}.listens[${j}] is not <tcp|udp>/<address>:<port>`);
      return l;
    });
    return {
      key: b.key, state, version: count(`${f}.version`, b.version), listens,
      learnUntil: wireTime(`${f}.learnUntilMs`, b.learnUntilMs, WIRE_TIMES.learnUntil, now, true),
      lockedBy: lockedBy(`${f}.lockedBy`, b.lockedBy),
      items: b.items.map((it, j) => {
        const source = itemSourceFromWire(it.source);
        if (!source) throw new InvalidMessage(`${f}.items[${j}].source must be ITEM_SOURCE_LEARNED, ITEM_SOURCE_STARTUP or ITEM_SOURCE_OPERATOR`);
        const path = executable(`${f}.items[${j}].path`, it.path);
        chars += path.length;
        if (chars > L.pathChars) throw new InvalidMessage(`baselineReport has more than ${L.pathChars} characters of paths`);
        // any_content is the collector's own word (an operator's allow): checked, not merged.
        flag(`${f}.items[${j}].anyContent`, it.anyContent ?? false);
        return {
          path, source, firstSeen: wireTime(`${f}.items[${j}].firstSeenMs`, it.firstSeenMs, WIRE_TIMES.baselineItem, now, true),
          digests: itemDigests(`${f}.items[${j}].digests`, it.digests ?? [], now),
          inlineCode: flag(`${f}.items[${j}].inlineCode`, it.inlineCode ?? false),
        };
      }),
    };
  });
  return { baselineVersion: count('baselineReport.baselineVersion', r.baselineVersion), baselines };
}
