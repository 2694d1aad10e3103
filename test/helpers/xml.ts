// Well-formedness of XML we write, judged by a real XML parser: Python's expat (python3 is on
// every machine of this project's kind; tests declare it with `needs(PYTHON_XML)`). Parses a
// batch of documents in one process and returns each as a plain tree, or expat's error.
import { spawn } from 'node:child_process';
import { commandSucceeds, type Requirement } from './requirements.js';

export interface XmlElement {
  readonly tag: string;
  readonly attrs: Readonly<Record<string, string>>;
  /** The element's own text (before its first child). */
  readonly text: string;
  readonly children: readonly XmlElement[];
}

export type Parsed = { readonly root: XmlElement } | { readonly error: string };

export const PYTHON_XML: Requirement = {
  what: "python3's XML parser (expat)",
  check: () => commandSucceeds('python3', ['-c', 'import xml.parsers.expat, xml.etree.ElementTree']),
  packages: ['python3'],
};

const SCRIPT = `
import base64, json, sys
import xml.etree.ElementTree as ET
def tree(e):
    return {"tag": e.tag, "attrs": dict(e.attrib), "text": e.text or "", "children": [tree(c) for c in e]}
out = []
for doc in json.load(sys.stdin):
    try:
        out.append({"root": tree(ET.fromstring(base64.b64decode(doc)))})
    except Exception as err:
        out.append({"error": "%s: %s" % (type(err).__name__, err)})
json.dump(out, sys.stdout)
`;

/** Parses each document with expat, as the bytes a file written with it would hold (UTF-8). */
export function parseXml(docs: readonly string[]): Promise<Parsed[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`python3 exited ${code}: ${Buffer.concat(err).toString()}`));
      resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as Parsed[]);
    });
    child.stdin.end(JSON.stringify(docs.map((d) => Buffer.from(d, 'utf8').toString('base64'))));
  });
}

/** Every element below `e` (and `e` itself) with this tag, in document order. */
export function findAll(e: XmlElement, tag: string): XmlElement[] {
  return [...(e.tag === tag ? [e] : []), ...e.children.flatMap((c) => findAll(c, tag))];
}
