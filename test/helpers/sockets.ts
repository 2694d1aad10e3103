// Raw TCP peers for connection tests and benchmarks: a half-open TLS client (the first 11
// bytes of a ClientHello, then silence), an idle connection, and one that dribbles a byte
// at a time. Each resolves `closed` when the other side ends it.
import { connect, type Socket } from 'node:net';

/** The first 11 bytes of a TLS 1.2 ClientHello record: header, handshake type, length, version. */
export const CLIENT_HELLO_START = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03]);

export interface RawPeer {
  readonly socket: Socket;
  /** Resolves once connected. */
  readonly connected: Promise<void>;
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;
  /** True once the connection closed. */
  readonly isClosed: () => boolean;
  close(): void;
}

export interface RawPeerOptions {
  readonly host?: string;
  /** The source address (e.g. 127.0.0.2: any 127/8 address is loopback on Linux). */
  readonly localAddress?: string;
  /** Bytes written once connected. */
  readonly send?: Buffer;
  /** Write one more byte of `dribble` every this many ms until closed. */
  readonly dribbleEveryMs?: number;
}

export function rawPeer(port: number, opts: RawPeerOptions = {}): RawPeer {
  const socket = connect({ port, host: opts.host ?? '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  socket.on('error', () => undefined);
  // Read (and drop) what the server sends: an unread reply would hold back the end of the stream.
  socket.on('data', () => undefined);
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => {
      if (opts.send) socket.write(opts.send);
      if (opts.dribbleEveryMs) {
        let i = 0;
        timer = setInterval(() => {
          if (!socket.destroyed) socket.write(Buffer.from([0x41 + (i++ % 26)]));
        }, opts.dribbleEveryMs);
      }
      resolve();
    });
    socket.once('close', () => reject(new Error('closed before it connected')));
  });
  connected.catch(() => undefined);
  const done = new Promise<void>((resolve) => socket.once('close', () => {
    closed = true;
    if (timer) clearInterval(timer);
    resolve();
  }));
  return {
    socket, connected, closed: done, isClosed: () => closed,
    close() {
      if (timer) clearInterval(timer);
      socket.destroy();
    },
  };
}

/** A half-open TLS client: 11 bytes of a ClientHello, then nothing (or a byte every `dribbleEveryMs`). */
export function halfOpenTls(port: number, opts: Omit<RawPeerOptions, 'send'> = {}): RawPeer {
  return rawPeer(port, { ...opts, send: CLIENT_HELLO_START });
}

/** Resolves when `p` does, or rejects after `ms` saying what did not happen. */
export function within<T>(what: string, p: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}
