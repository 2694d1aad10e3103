// Enrollment and renewal, the agent's side: this node makes its own key, sends a CSR with
// the pod's projected ServiceAccount token to the collector's enrollment endpoint, checks
// the certificate it gets back (issued by the configured CA, for this node, for this key)
// and writes key and certificate to collector.keyFile / certFile. It renews at about 70%
// of the lifetime, with a fresh key each time. The reporter reads those files at every
// connect, so an open stream is never interrupted: it keeps the TLS session it has, and
// the next connection uses the renewed certificate.
//
// It also enrolls again, before its renewal is due, when the certificate it holds has stopped
// working (recover): the collector refuses it (its CA was replaced, not rotated), or the CA
// bundle no longer holds the CA that issued it (the bundle the collector publishes changed).
// Recoveries are bounded: one at a time, none while an enrollment is already being retried,
// and each after the last one waits a growing backoff until a connection has held again.
//
// When to renew, retry and recover follows the clock it is given (deps.clock); whether a
// certificate is still valid is judged by the real time, as every TLS peer judges it.
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../../proto/support/clock.js';
import type { Logger } from '../../proto/support/logger.js';
import { pemCertificates } from '../../proto/support/pem.js';
import { backoffDelay } from '../report/client.js';
import type { ConnectionProblem } from '../report/diagnose.js';
import { createCsr, generateNodeKey } from './csr.js';

export interface EnrollerConfig {
  /** https://collector:7444/v1/enroll */
  readonly url: string;
  readonly tokenFile: string;
  /**
   * The CA that signs the collector's certificate and the agents', or a bundle of several
   * (during a CA rotation: old and new); a certificate from any of them is accepted.
   */
  readonly caFile: string;
  /** TLS name expected in the collector's certificate, when not the URL's host. */
  readonly serverName: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly node: string;
  /** Renew after this fraction of the certificate's lifetime (plus up to a quarter of the rest, at random). */
  readonly renewAfterFraction: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly timeoutMs: number;
}

export interface EnrollerDeps {
  readonly log: Logger;
  readonly random?: () => number;
  /** When renewals and retries are due (default: the system's). */
  readonly clock?: Clock;
  /** A new certificate is on disk (the reporter, waiting to reconnect, connects with it now). */
  readonly onEnrolled?: () => void;
}

/** The collector's own refusals of this node's certificate: enrolling again is the remedy. */
const REFUSED: ReadonlySet<ConnectionProblem> = new Set(['TLS_REJECTED', 'UNAUTHENTICATED']);
/** Failures of the network itself: nothing a certificate changes. */
const NETWORK: ReadonlySet<ConnectionProblem> = new Set(['ADDRESS', 'DNS', 'REFUSED', 'UNREACHABLE']);

/** What recover did. */
export type Recovery =
  /** Enrolled again: a new certificate is on disk. */
  | 'enrolled'
  /** Tried, and failed: the enrollment is retried with backoff from now on. */
  | 'failed'
  /** Nothing to do: the problem is not one a new certificate solves, and the certificate is still from the bundle. */
  | 'not-needed'
  /** Too soon after the last recovery, or one (or an enrollment retry) is under way. */
  | 'backing-off';

export interface CertificateState {
  readonly serialNumber: string;
  readonly notAfter: Date;
  /** When the next renewal is due. */
  readonly renewAt: Date;
}

/** A refusal or failure; `status` is the HTTP status when the collector answered. */
export class EnrollError extends Error {
  readonly code = 'ENROLL_FAILED';
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export function createEnroller(config: EnrollerConfig, deps: EnrollerDeps) {
  const { log } = deps;
  const random = deps.random ?? Math.random;
  const clock = deps.clock ?? systemClock;
  let stopped = true;
  /** An enrollment failed and its retry is scheduled (not a renewal). */
  let retrying = false;
  let recovering = false;
  let recoveries = 0;
  let recoveredAt = 0;
  let cancelTimer: (() => void) | undefined;
  let attempt = 0;
  let current: CertificateState | undefined;
  let enrollments = 0;
  let inFlight: AbortController | undefined;

  function renewTime(from: number, notAfter: number): Date {
    const span = Math.max(0, notAfter - from);
    const f = config.renewAfterFraction + random() * (1 - config.renewAfterFraction) * 0.25;
    return new Date(from + span * f);
  }

  /** The certificate on disk, when it is this node's, from one of these CAs, with its key. */
  async function readExisting(cas: readonly X509Certificate[]): Promise<X509Certificate | undefined> {
    let cert: X509Certificate;
    let key: KeyObject;
    try {
      cert = new X509Certificate(await readFile(config.certFile));
      key = createPublicKey(await readFile(config.keyFile));
    } catch {
      return undefined;
    }
    const ok = cert.subject === `CN=${config.node}` && issuedByAny(cert, cas) &&
      sameKey(cert.publicKey, key) && Date.parse(cert.validTo) > Date.now();
    return ok ? cert : undefined;
  }

  function post(body: string, token: string, ca: Buffer, signal: AbortSignal): Promise<{ status: number; json: unknown }> {
    return new Promise((resolve, reject) => {
      const req = request(config.url, {
        method: 'POST',
        ca,
        ...(config.serverName ? { servername: config.serverName } : {}),
        timeout: config.timeoutMs,
        signal,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('response too large'));
          else chunks.push(c);
        });
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${config.timeoutMs} ms`)));
      req.on('error', (err) => reject(new EnrollError(`cannot reach ${config.url}: ${err.message}`)));
      req.end(body);
    });
  }

  /** One enrollment: new key, CSR, certificate checked and written. */
  async function enrollOnce(): Promise<CertificateState> {
    const [caPem, token] = await Promise.all([
      readFile(config.caFile).catch((err: Error) => {
        throw new EnrollError(`cannot read the CA ${config.caFile}: ${err.message}`);
      }),
      readFile(config.tokenFile, 'utf8').then((t) => t.trim(), (err: Error) => {
        throw new EnrollError(`cannot read the ServiceAccount token ${config.tokenFile}: ${err.message}`);
      }),
    ]);
    const cas = readCaBundle(caPem);
    const key = generateNodeKey();
    const controller = new AbortController();
    inFlight = controller;
    let answer: { status: number; json: unknown };
    try {
      answer = await post(JSON.stringify({ csr: createCsr(config.node, key) }), token, caPem, controller.signal);
    } finally {
      inFlight = undefined;
    }
    const body = (answer.json ?? {}) as { certificate?: unknown; error?: unknown };
    if (answer.status !== 200 || typeof body.certificate !== 'string') {
      throw new EnrollError(`the collector refused enrollment (HTTP ${answer.status}): ${typeof body.error === 'string' ? body.error : 'no reason given'}`, answer.status);
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(body.certificate);
    } catch (err) {
      throw new EnrollError(`the collector sent an unreadable certificate: ${(err as Error).message}`);
    }
    if (!issuedByAny(cert, cas)) throw new EnrollError(`the certificate was not issued by a CA in ${config.caFile}`);
    if (cert.subject !== `CN=${config.node}`) throw new EnrollError(`the certificate is for ${cert.subject}, not CN=${config.node}`);
    if (!sameKey(cert.publicKey, key.publicKey)) throw new EnrollError('the certificate is not for the key this node sent');
    const notAfter = new Date(cert.validTo);
    if (notAfter.getTime() <= Date.now()) throw new EnrollError(`the certificate expired already (${cert.validTo})`);
    // Key first, then certificate, each replaced atomically. A connect that falls between
    // the two renames reads a mismatched pair, fails its handshake and retries.
    await mkdir(dirname(config.keyFile), { recursive: true, mode: 0o700 });
    await mkdir(dirname(config.certFile), { recursive: true, mode: 0o700 });
    await replaceFile(config.keyFile, key.privateKeyPem, 0o600);
    await replaceFile(config.certFile, body.certificate, 0o644);
    enrollments++;
    return { serialNumber: cert.serialNumber, notAfter, renewAt: renewTime(clock.now(), notAfter.getTime()) };
  }

  function schedule(at: Date): void {
    if (stopped) return;
    cancelTimer?.();
    const cancel = clock.after(at.getTime() - clock.now(), () => {
      if (cancelTimer !== cancel) return;
      cancelTimer = undefined;
      void attemptNow();
    });
    cancelTimer = cancel;
  }

  /** One enrollment at a time: a renewal that falls due during a recovery joins it. */
  let busy: Promise<boolean> | undefined;
  function attemptNow(): Promise<boolean> {
    busy ??= enrollNow().finally(() => {
      busy = undefined;
    });
    return busy;
  }

  async function enrollNow(): Promise<boolean> {
    try {
      const state = await enrollOnce();
      if (stopped) return true;
      attempt = 0;
      retrying = false;
      current = state;
      log.info({ node: config.node, serial: state.serialNumber, notAfter: state.notAfter.toISOString(), renewAt: state.renewAt.toISOString() }, 'client certificate enrolled');
      schedule(state.renewAt);
      deps.onEnrolled?.();
      return true;
    } catch (err) {
      if (stopped) return false;
      const delay = backoffDelay(attempt++, config.retryBaseMs, config.retryMaxMs, random);
      const e = err as EnrollError;
      log[e.status === 401 || e.status === 403 ? 'error' : 'warn']({ err: e.message, status: e.status, retryInMs: delay, validUntil: current?.notAfter.toISOString() }, 'enrollment failed');
      retrying = true;
      schedule(new Date(clock.now() + delay));
      return false;
    }
  }

  /** The certificate on disk is this node's, unexpired, with its key, and issued by a CA of the bundle now. */
  async function certificateFromBundle(): Promise<boolean> {
    try {
      return (await readExisting(readCaBundle(await readFile(config.caFile)))) !== undefined;
    } catch {
      return false;
    }
  }

  return {
    /** The certificate in use, once there is one. */
    get certificate(): CertificateState | undefined {
      return current;
    },
    /** Certificates obtained since start. */
    get enrollments(): number {
      return enrollments;
    },
    /**
     * Keeps the certificate on disk if it is still good for this node and CA, else
     * enrolls once now. A failure does not throw: it is logged and retried with backoff
     * (the reporter, finding no certificate, keeps retrying its connection meanwhile).
     */
    async start(): Promise<void> {
      if (!stopped) return;
      stopped = false;
      let cas: X509Certificate[] = [];
      try {
        cas = readCaBundle(await readFile(config.caFile));
      } catch {
        cas = [];
      }
      const existing = cas.length > 0 ? await readExisting(cas) : undefined;
      if (existing) {
        const notBefore = Date.parse(existing.validFrom);
        const notAfter = new Date(existing.validTo);
        const renewAt = renewTime(notBefore, notAfter.getTime());
        if (renewAt.getTime() > clock.now()) {
          current = { serialNumber: existing.serialNumber, notAfter, renewAt };
          log.info({ serial: existing.serialNumber, notAfter: notAfter.toISOString(), renewAt: renewAt.toISOString() }, 'client certificate from an earlier enrollment');
          schedule(renewAt);
          return;
        }
      }
      await attemptNow();
    },
    /**
     * The connection to the collector failed with `problem` (the reporter's diagnosis). Enrolls
     * again now when the collector refuses the certificate (TLS_REJECTED, UNAUTHENTICATED), or
     * when the certificate no longer comes from a CA of the bundle (the CA was replaced and
     * the published bundle changed), instead of waiting for the renewal. Bounded: the first
     * at once, each next one a backoff later (collector.backoffBaseMs up to backoffMaxMs)
     * until `connectionHeld` says a connection lasted.
     */
    async recover(problem: ConnectionProblem): Promise<Recovery> {
      if (stopped || NETWORK.has(problem)) return 'not-needed';
      if (recovering || retrying) return 'backing-off';
      const wait = recoveries === 0 ? 0 : backoffDelay(recoveries - 1, config.retryBaseMs, config.retryMaxMs, random);
      if (clock.now() < recoveredAt + wait) return 'backing-off';
      recovering = true;
      try {
        const refused = REFUSED.has(problem);
        if (!refused && await certificateFromBundle()) return 'not-needed';
        if (stopped) return 'not-needed';
        recoveries++;
        recoveredAt = clock.now();
        log.warn({ node: config.node, problem, serial: current?.serialNumber, attempt: recoveries },
          refused ? 'the collector does not accept this node\'s certificate (its CA was replaced?): enrolling again now'
            : 'this node\'s certificate is not from a CA of the current bundle (the CA was replaced): enrolling again now');
        return (await attemptNow()) ? 'enrolled' : 'failed';
      } finally {
        recovering = false;
      }
    },
    /** A connection to the collector has lasted: the next recovery, if ever, may come at once. */
    connectionHeld(): void {
      recoveries = 0;
    },
    /** Safe before start and twice. */
    async stop(): Promise<void> {
      stopped = true;
      cancelTimer?.();
      cancelTimer = undefined;
      inFlight?.abort();
    },
  };
}

/** Every certificate in the CA file (a bundle during a CA rotation); none is an error. */
function readCaBundle(pem: Buffer): X509Certificate[] {
  let cas: X509Certificate[];
  try {
    cas = pemCertificates(pem).map((p) => new X509Certificate(p));
  } catch (err) {
    throw new EnrollError(`the CA file holds an unreadable certificate: ${(err as Error).message}`);
  }
  if (cas.length === 0) throw new EnrollError('the CA file holds no PEM certificate');
  return cas;
}

function issuedByAny(cert: X509Certificate, cas: readonly X509Certificate[]): boolean {
  return cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

async function replaceFile(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode, flush: true });
  await rename(tmp, path);
}

export type Enroller = ReturnType<typeof createEnroller>;
