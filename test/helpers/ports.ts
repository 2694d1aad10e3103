// A free TCP port on 127.0.0.1 for a server a test or benchmark starts (etcd, PostgreSQL):
// bound to port 0, read, released. Another process may take it meanwhile; the servers that
// use it retry on a bind error.
import { createServer, type AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
