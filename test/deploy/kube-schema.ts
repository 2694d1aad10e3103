// Holds Kubernetes objects to the API's schemas, offline, in two passes:
//
// 1. kubernetes-models' generated validators (`new Model(obj).validate()`): types, enums,
//    required fields. Those validators accept any property they do not know, and a model's
//    round trip (`toJSON()`) keeps unknown properties too, so neither catches a misspelt
//    `readOnlyRootFilesytem`, which the API server would drop (or refuse) on apply.
// 2. An unknown-field walk over the same models' type declarations, which are generated from
//    the same OpenAPI definitions: TypeScript's checker loads `I<Kind>` from
//    kubernetes-models' .d.ts files, and each object is walked against it. At every object
//    level each key must be a declared property of the type there (or the type must have a
//    string index signature, as `labels` and ConfigMap `data` do); arrays are walked with
//    their element type, unions by the member whose shape fits the value, and `any`
//    (RawExtension and the like) ends the walk. The result is the set of paths the schema
//    does not know, which `kubectl apply --validate=strict` would also refuse.
import ts from 'typescript';
import { REPO_ROOT, type KubeObject } from './manifests.js';

export interface ModelRef {
  /** kubernetes-models module, e.g. `kubernetes-models/apps/v1/DaemonSet`. */
  readonly module: string;
  /** Exported class name (= kind). */
  readonly kind: string;
}

/** Where kubernetes-models keeps apiVersion/kind: `v1` for the core group, else `<group>/<version>`. */
export function modelFor(apiVersion: string, kind: string): ModelRef {
  if (!/^[a-z0-9.-]+(\/v[0-9a-z]+)?$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]+$/.test(kind)) {
    throw new Error(`not an apiVersion/kind: ${apiVersion} ${kind}`);
  }
  return { module: `kubernetes-models/${apiVersion}/${kind}`, kind };
}

/** Pass 1: the model's own validation. Returns its error message, or undefined when valid. */
export async function validateWithModel(obj: KubeObject): Promise<string | undefined> {
  const ref = modelFor(obj.apiVersion, obj.kind);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(ref.module)) as Record<string, unknown>;
  } catch (err) {
    return `no model for ${obj.apiVersion} ${obj.kind} (${(err as Error).message})`;
  }
  const Model = mod[ref.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (typeof Model !== 'function') return `kubernetes-models has no ${ref.kind} in ${ref.module}`;
  try {
    new Model(obj).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export interface FieldChecker {
  /** Paths in `obj` that its kind's schema does not declare, e.g. `.spec.template.spec.hostPid`. */
  unknownFields(obj: KubeObject): string[];
}

/**
 * Pass 2: builds one TypeScript program that imports `I<Kind>` for every kind given, and
 * returns a checker that walks objects against those types.
 */
export function createFieldChecker(kinds: ReadonlyArray<{ apiVersion: string; kind: string }>): FieldChecker {
  const unique = [...new Map(kinds.map((k) => [`${k.apiVersion} ${k.kind}`, k])).values()];
  const virtualFile = `${REPO_ROOT}test/deploy/__kube_kinds__.ts`;
  const source = unique
    .map((k, i) => `import type { I${k.kind} as T${i} } from '${modelFor(k.apiVersion, k.kind).module}';\nexport type K${i} = T${i};`)
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) =>
    name === virtualFile ? ts.createSourceFile(name, source, lang, true) : getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => name === virtualFile || fileExists.call(host, name);
  host.readFile = (name) => (name === virtualFile ? source : readFile.call(host, name));
  const program = ts.createProgram({ rootNames: [virtualFile], options, host });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === virtualFile);
  if (diagnostics.length > 0) {
    throw new Error(`cannot load the model types: ${diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`);
  }
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(virtualFile);
  const moduleSymbol = sf && checker.getSymbolAtLocation(sf);
  if (!moduleSymbol) throw new Error('cannot read the generated module');
  const exports = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));
  const types = new Map<string, ts.Type>();
  unique.forEach((k, i) => {
    const sym = exports.get(`K${i}`);
    if (!sym) throw new Error(`no type for ${k.apiVersion} ${k.kind}`);
    types.set(`${k.apiVersion} ${k.kind}`, checker.getDeclaredTypeOfSymbol(sym));
  });

  const NULLISH = ts.TypeFlags.Undefined | ts.TypeFlags.Null | ts.TypeFlags.Void;

  type Shape = 'array' | 'object' | 'scalar' | 'any';
  const shapeOfType = (t: ts.Type): Shape => {
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return 'any';
    if (checker.isArrayType(t)) return 'array';
    if (t.flags & ts.TypeFlags.Object || t.isIntersection()) return 'object';
    return 'scalar';
  };
  const shapeOfValue = (v: unknown): Shape => (Array.isArray(v) ? 'array' : v !== null && typeof v === 'object' ? 'object' : 'scalar');

  function walk(v: unknown, t: ts.Type, path: string, out: string[]): void {
    if (t.isUnion()) {
      const members = t.types.filter((m) => !(m.flags & NULLISH));
      const fitting = members.filter((m) => shapeOfType(m) === 'any' || shapeOfType(m) === shapeOfValue(v));
      if (fitting.length === 0) return; // a type mismatch: pass 1 reports it
      let best: string[] | undefined;
      for (const m of fitting) {
        const found: string[] = [];
        walk(v, m, path, found);
        if (found.length === 0) return;
        if (!best || found.length < best.length) best = found;
      }
      out.push(...(best ?? []));
      return;
    }
    const shape = shapeOfType(t);
    if (shape === 'any' || shape !== shapeOfValue(v)) return;
    if (shape === 'array') {
      const [element] = checker.getTypeArguments(t as ts.TypeReference);
      if (element) (v as unknown[]).forEach((x, i) => walk(x, element, `${path}[${i}]`, out));
      return;
    }
    if (shape !== 'object') return;
    const props = new Map(checker.getPropertiesOfType(t).map((p) => [p.name, p]));
    const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
    for (const [key, x] of Object.entries(v as Record<string, unknown>)) {
      const prop = props.get(key);
      const where = `${path}.${key}`;
      if (prop) walk(x, checker.getTypeOfSymbol(prop), where, out);
      else if (index) walk(x, index.type, where, out);
      else out.push(`${where}: unknown field (not in ${checker.typeToString(t)})`);
    }
  }

  return {
    unknownFields(obj) {
      const t = types.get(`${obj.apiVersion} ${obj.kind}`);
      if (!t) throw new Error(`the checker was not built for ${obj.apiVersion} ${obj.kind}`);
      const out: string[] = [];
      walk(obj, t, '', out);
      return out;
    },
  };
}
