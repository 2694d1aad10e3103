// A raw AgentService client for tests: sends exactly what a test says, collects what
// comes back, and reports how the call ended.
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { nodewardProto, type AgentMessage, type CollectorMessage__Output } from '../../proto/load.js';

export interface RawStream {
  send(msg: AgentMessage): void;
  /** Resolves with the next n messages from the collector; rejects at the timeout, or once the call has ended (or was closed) before they came. */
  receive(n: number, timeoutMs?: number): Promise<CollectorMessage__Output[]>;
  /** Resolves when the call ends: with its status code and details. */
  readonly ended: Promise<{ code: number; details: string }>;
  close(): void;
}

export function openRawStream(address: string, creds: { ca: string; cert?: string; key?: string } | 'insecure'): RawStream {
  const credentials = creds === 'insecure'
    ? grpc.credentials.createInsecure()
    : grpc.credentials.createSsl(readFileSync(creds.ca), creds.key ? readFileSync(creds.key) : null, creds.cert ? readFileSync(creds.cert) : null);
  const client = new (nodewardProto().AgentService)(address, credentials);
  const call = client.Connect();
  const inbox: CollectorMessage__Output[] = [];
  const waiters: Array<() => void> = [];
  let over: string | undefined;
  call.on('data', (m: CollectorMessage__Output) => {
    inbox.push(m);
    waiters.splice(0).forEach((w) => w());
  });
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details }));
    call.on('status', (st: grpc.StatusObject) => {
      if (st.code === grpc.status.OK) resolve({ code: 0, details: st.details });
    });
  });
  // Nothing more comes once the call has ended: a receive waiting then gives up at once.
  void ended.then((e) => {
    over ??= `the call ended (${e.code} ${e.details})`;
    waiters.splice(0).forEach((w) => w());
  });
  return {
    send: (msg) => call.write(msg),
    // 30 s: a message that must come, waited for generously; on a loaded 2-core machine 10 s was seen to run out.
    async receive(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (inbox.length < n) {
        if (over !== undefined) throw new Error(`expected ${n} messages, got ${inbox.length}: ${over}`);
        if (Date.now() > deadline) throw new Error(`expected ${n} messages, got ${inbox.length}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 100))]);
      }
      return inbox.splice(0, n);
    },
    ended,
    close() {
      over ??= 'the stream was closed';
      waiters.splice(0).forEach((w) => w());
      call.end();
      client.close();
    },
  };
}
