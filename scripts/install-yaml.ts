// The release's install.yaml: `manifests/` built by kustomize, offline, with every image
// pinned by digest, as one YAML stream a user applies without a checkout.
//
// The pinning uses the kustomization's own mechanism: a throw-away overlay whose `images:`
// gives each image its registry name and digest (the overlay docs/install.md shows), built
// with `kubectl kustomize`. The result is then checked on its own terms, whatever kustomize
// did: every document parses into an object, every image is one of the two given references,
// each pinned by digest, and no tagged reference to an image is left anywhere in the text.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';

/** The images, by the name the manifests give them (manifests/kustomization.yaml, `images:`). */
export const IMAGES = { agent: 'nodeward-agent', collector: 'nodeward-collector' } as const;
export type ImageRole = keyof typeof IMAGES;

export type RenderErrorCode =
  | 'NO_DIGEST' // a reference without @sha256:...
  | 'BAD_DIGEST' // a digest that is not sha256 with 64 lowercase hex digits
  | 'BAD_REFERENCE' // not an image reference at all
  | 'NO_REGISTRY' // a name without a registry host (it would be looked up on Docker Hub)
  | 'WRONG_IMAGE' // the agent's reference given for the collector, or another image
  | 'KUSTOMIZE' // kubectl kustomize failed
  | 'CHECK'; // the rendered output failed its own check

export class RenderError extends Error {
  constructor(readonly code: RenderErrorCode, message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

/** An image reference pinned by digest: `pinned` is `name@digest`, what the output carries. */
export interface PinnedImage {
  /** Registry host and repository path, e.g. ghcr.io/acme/nodeward-agent. */
  readonly name: string;
  /** sha256:<64 hex digits>. */
  readonly digest: string;
  readonly pinned: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
// The repository grammar of the OCI distribution spec (lowercase path components joined by
// '/'), with a registry host first: a domain or localhost, an optional port.
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)+)(?::[0-9]{1,5})?$/;
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * Parses `REGISTRY/PATH/<image>[:tag]@sha256:<hex>` for the given role; a tag, when present,
 * is dropped (the digest names the content). Throws a RenderError saying what to give instead.
 */
export function parseImageReference(ref: string, role: ImageRole): PinnedImage {
  const expected = IMAGES[role];
  const example = `ghcr.io/OWNER/${expected}@sha256:<64 hex digits>`;
  if (ref.trim() !== ref || ref === '' || /\s/.test(ref)) {
    throw new RenderError('BAD_REFERENCE', `--${role} ${JSON.stringify(ref)} is not an image reference (e.g. ${example})`);
  }
  const at = ref.indexOf('@');
  if (at < 0) {
    throw new RenderError('NO_DIGEST', `--${role} ${ref} has no digest: an install.yaml pins every image by digest; give ${example}, the digest the push reported`);
  }
  const nameAndTag = ref.slice(0, at);
  const digest = ref.slice(at + 1);
  if (!DIGEST.test(digest)) {
    throw new RenderError('BAD_DIGEST', `--${role} ${ref}: the digest must be sha256: and 64 lowercase hex digits`);
  }
  const slash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.lastIndexOf(':');
  const name = colon > slash ? nameAndTag.slice(0, colon) : nameAndTag;
  const tag = colon > slash ? nameAndTag.slice(colon + 1) : undefined;
  if (tag !== undefined && !TAG.test(tag)) throw new RenderError('BAD_REFERENCE', `--${role} ${ref}: ${JSON.stringify(tag)} is not a tag`);
  const parts = name.split('/');
  const host = parts.length > 1 && HOST.test(parts[0] ?? '') && /[.:]|^localhost/.test(parts[0] ?? '') ? parts[0] : undefined;
  const path = host === undefined ? parts : parts.slice(1);
  if (path.length === 0 || !path.every((p) => PATH_COMPONENT.test(p))) {
    throw new RenderError('BAD_REFERENCE', `--${role} ${ref}: ${JSON.stringify(name)} is not a repository name (lowercase, e.g. ${example})`);
  }
  if (host === undefined) {
    throw new RenderError('NO_REGISTRY', `--${role} ${ref} names no registry host, so it would be pulled from Docker Hub, where that name is not ours; give ${example}`);
  }
  if (path.at(-1) !== expected) {
    throw new RenderError('WRONG_IMAGE', `--${role} ${ref} is not the ${role} image: its repository must end in /${expected}`);
  }
  return { name, digest, pinned: `${name}@${digest}` };
}

export interface RenderOptions {
  /** The kustomization to build (the repository's manifests/). */
  readonly manifestsDir: string;
  readonly images: Readonly<Record<ImageRole, PinnedImage>>;
  /** kubectl, with its built-in kustomize; a name is looked up on PATH. */
  readonly kubectl: string;
  /** First lines of the output, as YAML comments. */
  readonly header?: readonly string[];
}

export interface RenderedInstall {
  readonly text: string;
  /** Kubernetes objects in it. */
  readonly objects: number;
}

/** Builds the install.yaml text and checks it (throws RenderError CHECK with every problem). */
export async function renderInstall(opts: RenderOptions): Promise<RenderedInstall> {
  const overlay = await mkdtemp(join(tmpdir(), 'nodeward-install-'));
  try {
    const kustomization = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      // kustomize takes a base only by a relative path.
      resources: [relative(overlay, opts.manifestsDir)],
      images: (Object.keys(IMAGES) as ImageRole[]).map((role) => ({
        name: IMAGES[role],
        newName: opts.images[role].name,
        digest: opts.images[role].digest,
      })),
    };
    await writeFile(join(overlay, 'kustomization.yaml'), stringify(kustomization));
    let built: string;
    try {
      built = (await promisify(execFile)(opts.kubectl, ['kustomize', overlay], { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 })).stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new RenderError('KUSTOMIZE', `${opts.kubectl} kustomize failed: ${(e.stderr || e.message).trim()}`);
    }
    const text = `${(opts.header ?? []).map((l) => `# ${l}`.trimEnd()).join('\n')}${opts.header?.length ? '\n' : ''}${built}`;
    const { problems, objects } = checkInstall(text, opts.images);
    if (problems.length > 0) throw new RenderError('CHECK', `the rendered install.yaml fails its check:\n  ${problems.join('\n  ')}`);
    return { text, objects };
  } finally {
    await rm(overlay, { recursive: true, force: true });
  }
}

/**
 * What is wrong with an install.yaml text: documents that do not parse or are not Kubernetes
 * objects, images that are not one of `images` pinned by digest, a given image never used, a
 * tagged reference to one of our images anywhere. No problems: it is fit to publish.
 */
export function checkInstall(text: string, images: Readonly<Record<ImageRole, PinnedImage>>): { problems: string[]; objects: number } {
  const problems: string[] = [];
  const allowed = new Map((Object.keys(images) as ImageRole[]).map((role) => [images[role].pinned, role]));
  const used = new Set<string>();
  let objects = 0;
  parseAllDocuments(text).forEach((doc, i) => {
    const where = `document ${i + 1}`;
    if (doc.errors.length > 0) {
      problems.push(`${where}: does not parse: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
      return;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    const o = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
    if (typeof value !== 'object' || Array.isArray(value) || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' ||
      typeof o.metadata?.name !== 'string' || o.metadata.name === '') {
      problems.push(`${where}: not a Kubernetes object (apiVersion, kind and metadata.name)`);
      return;
    }
    objects++;
    const label = `${o.kind} ${o.metadata.name}`;
    for (const { path, image } of imagesIn(value)) {
      if (!/@sha256:[0-9a-f]{64}$/.test(image)) problems.push(`${label} ${path}: ${image} is not pinned by digest`);
      else if (!allowed.has(image)) problems.push(`${label} ${path}: ${image} is not one of the given images`);
      else used.add(image);
    }
  });
  if (objects === 0) problems.push('no objects');
  for (const [pinned, role] of allowed) if (!used.has(pinned)) problems.push(`the ${role} image ${pinned} is used by no container`);
  const names = Object.values(IMAGES).join('|');
  // A version tag (or latest) after one of our names, not followed by a digest: a Service
  // address such as nodeward-collector:7443 is not an image.
  for (const m of text.matchAll(new RegExp(`(?<![\\w.-])(?:[\\w.-]+/)*(?:${names}):(?:v?\\d+\\.\\d+[\\w.-]*|latest)(?![\\w.-]*@)`, 'g'))) {
    problems.push(`a tagged, unpinned reference is left: ${m[0]}`);
  }
  return { problems, objects };
}

/** Every `image` of a container, wherever a pod spec sits in the object. */
function imagesIn(value: unknown, path = ''): Array<{ path: string; image: string }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => imagesIn(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const out: Array<{ path: string; image: string }> = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'image' && typeof v === 'string') out.push({ path: `${path}.image`, image: v });
    else out.push(...imagesIn(v, `${path}.${k}`));
  }
  return out;
}
