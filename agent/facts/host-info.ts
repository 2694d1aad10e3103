// Node inventory for the hello: OS from the host's own etc/os-release (not the
// container's), kernel, CPU, memory and uptime from host-wide kernel values. Memory is
// /proc/meminfo's MemTotal, which os.totalmem() reads (libuv); no library is loaded for it.
import os from 'node:os';
import type { HostFs } from './host-fs.js';

export interface HostInfo {
  readonly os: string;
  readonly kernel: string;
  readonly arch: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly uptimeSeconds: number;
}

/** PRETTY_NAME (else NAME VERSION_ID) from os-release text. */
export function parseOsRelease(text: string): string {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) values.set(m[1] as string, (m[2] as string).replace(/^"(.*)"$|^'(.*)'$/, '$1$2'));
  }
  return values.get('PRETTY_NAME') ?? [values.get('NAME'), values.get('VERSION_ID')].filter(Boolean).join(' ');
}

export async function collectHostInfo(hostFs: HostFs): Promise<HostInfo> {
  let osName = '';
  for (const p of ['/etc/os-release', '/usr/lib/os-release']) {
    const r = await hostFs.readFile(p, { maxBytes: 64 * 1024 });
    if (r.ok) {
      osName = parseOsRelease(r.value.toString('utf8'));
      break;
    }
  }
  return {
    os: osName.slice(0, 256),
    kernel: os.release(),
    arch: os.arch(),
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    uptimeSeconds: Math.floor(os.uptime()),
  };
}
