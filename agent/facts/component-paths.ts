// A component names files in its own mount namespace. For a static pod that is the
// container's view: /etc/kubernetes/audit.yaml inside the API server container is whatever
// hostPath volume is mounted there. This turns such a value into the host path the agent can
// stat, through the pod's hostPath mounts, and says how. Pure.
import { posix } from 'node:path';
import type { ComponentFacts, ComponentPath, VolumeMapping } from './control-plane-types.js';

export interface PathContext {
  readonly component: string;
  /** Working directory in the component's namespace; null when unknown. */
  readonly cwd: string | null;
  /** hostPath mounts; null when the component's paths are host paths. */
  readonly mounts: readonly VolumeMapping[] | null;
}

const within = (path: string, dir: string): boolean => dir === '/' || path === dir || path.startsWith(`${dir}/`);

export function componentHostPath(ctx: PathContext, setting: string, value: string): ComponentPath {
  let inNamespace = value;
  let how = '';
  if (!value.startsWith('/')) {
    if (ctx.cwd === null || !ctx.cwd.startsWith('/')) {
      const message = `${setting}=${value} is relative and the working directory of ${ctx.component} is unknown`;
      return { setting, value, hostPath: null, how: '', error: { code: 'ENOCWD', path: '', message } };
    }
    inNamespace = `${ctx.cwd}/${value}`;
    how = `relative to the working directory ${ctx.cwd}`;
  }
  const normal = posix.normalize(inNamespace);
  if (ctx.mounts === null) return { setting, value, hostPath: normal, how: how || 'a host path', error: null };

  let best: VolumeMapping | null = null;
  for (const m of ctx.mounts) {
    if (within(normal, m.containerPath) && (best === null || m.containerPath.length > best.containerPath.length)) best = m;
  }
  if (best === null) {
    const message = `${value} is inside the ${ctx.component} container's own filesystem (no hostPath volume is mounted there), which the agent cannot see from the host`;
    return { setting, value, hostPath: null, how: '', error: { code: 'EINVAL', path: normal, message } };
  }
  const rest = best.containerPath === '/' ? normal : normal.slice(best.containerPath.length);
  const hostPath = posix.normalize(`${best.hostPath}/${rest}`).replace(/(.)\/$/, '$1');
  const mountNote = best.containerPath === best.hostPath ? `mounted from the host at the same path` : `through the hostPath mount ${best.hostPath} -> ${best.containerPath}`;
  return { setting, value, hostPath, how: how ? `${how}, ${mountNote}` : mountNote, error: null };
}

/** A component's resolved path for one setting, if it has one. */
export const componentPath = (c: ComponentFacts, setting: string): ComponentPath | undefined => c.paths.find((p) => p.setting === setting);

/** A path as kube-proxy opens it: relative to its working directory (null when that is unknown). */
export function kubeProxyPath(value: string, cwd: string | null): string | null {
  if (value.startsWith('/')) return posix.normalize(value);
  if (cwd === null || !cwd.startsWith('/')) return null;
  return posix.normalize(`${cwd}/${value}`);
}
