// Finds promises nobody waits for: an expression statement whose value is a promise, in the
// collector's and the agent's code. The store's reads and writes return promises, and a write
// whose promise is dropped runs outside the caller's order and loses its error; so every one
// is awaited, returned, or handed to `void` on purpose (a fire-and-forget with its own catch).
// test/collector/floating-promises.test.ts runs it; `node dist/scripts/floating-promises.js`
// prints the places.
import ts from 'typescript';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Floating {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function isPromise(checker: ts.TypeChecker, type: ts.Type): boolean {
  if (type.isUnion()) return type.types.some((t) => isPromise(checker, t));
  // A promise has `catch` too; a thenable without it (a Fastify reply) is not waited for.
  const then = type.getProperty('then');
  if (then === undefined || type.getProperty('catch') === undefined) return false;
  const decl = then.valueDeclaration ?? then.declarations?.[0];
  if (decl === undefined) return false;
  return checker.getTypeOfSymbolAtLocation(then, decl).getCallSignatures().length > 0;
}

/** ava's assertions that compare values (not throwsAsync and the like, which take promises). */
const ASSERTION = /^t\.(is|not|deepEqual|notDeepEqual|like|true|false|truthy|falsy|regex|notRegex|assert)$/;

/** A field that holds a promise on purpose: its name says so (`ready`, `done`, a `...Promise`), or it is a function's result handed over as one. */
function promiseField(node: ts.Node): boolean {
  if (!ts.isPropertyAssignment(node) && !ts.isShorthandPropertyAssignment(node)) return false;
  return /^(ready|done|closed|started|stopped|finished|settled|loop|running|pending|answers?|ended|connected)$|Promise$/i.test(node.name.getText());
}

function isAssignment(e: ts.Expression): boolean {
  return ts.isBinaryExpression(e) && e.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && e.operatorToken.kind <= ts.SyntaxKind.LastAssignment;
}

/** `p.catch(h)` or `p.then(f, h)`: the rejection has its handler. */
function handled(e: ts.Expression): boolean {
  if (!ts.isCallExpression(e) || !ts.isPropertyAccessExpression(e.expression)) return false;
  const name = e.expression.name.text;
  if (name === 'finally') return handled(e.expression.expression);
  return (name === 'catch' && e.arguments.length === 1) || (name === 'then' && e.arguments.length === 2);
}

/** Every floating promise in the files under `dirs` (relative to the project root). */
export function floatingPromises(dirs: readonly string[]): Floating[] {
  const config = ts.getParsedCommandLineOfConfigFile(resolve(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (config === undefined) throw new Error('no tsconfig.json');
  const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, incremental: false, noEmit: true } });
  const checker = program.getTypeChecker();
  const out: Floating[] = [];
  for (const sf of program.getSourceFiles()) {
    const rel = relative(ROOT, sf.fileName);
    if (!dirs.some((d) => rel.startsWith(`${d}/`))) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isExpressionStatement(node)) {
        const e = node.expression;
        const dropped = !ts.isVoidExpression(e) && !ts.isAwaitExpression(e) && !isAssignment(e) && !handled(e);
        if (dropped && isPromise(checker, checker.getTypeAtLocation(e))) {
          const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
          out.push({ file: rel, line: line + 1, text: node.getText(sf).slice(0, 120) });
        }
      }
      // A promise put where a value belongs: an object's field, a template, an operand.
      const valueSpot = ts.isPropertyAssignment(node) ? node.initializer
        : ts.isShorthandPropertyAssignment(node) ? node.name
          : ts.isTemplateSpan(node) ? node.expression
            : ts.isSpreadAssignment(node) ? node.expression
              : ts.isBinaryExpression(node) && !isAssignment(node) && node.operatorToken.kind !== ts.SyntaxKind.QuestionQuestionToken
                && node.operatorToken.kind !== ts.SyntaxKind.BarBarToken && node.operatorToken.kind !== ts.SyntaxKind.AmpersandAmpersandToken ? node.left
                : undefined;
      if (valueSpot !== undefined) {
        const type = checker.getTypeAtLocation(valueSpot);
        if (isPromise(checker, type) && !(type.isUnion() && !type.types.every((u) => isPromise(checker, u))) && !promiseField(node)) {
          const { line } = sf.getLineAndCharacterOfPosition(valueSpot.getStart(sf));
          out.push({ file: rel, line: line + 1, text: `a promise as a value: ${node.getText(sf).slice(0, 100)}` });
        }
      }
      // A test's assertion given a promise compares the promise, not what it resolves to.
      if (ts.isCallExpression(node) && ASSERTION.test(node.expression.getText(sf))) {
        for (const arg of node.arguments) {
          const type = checker.getTypeAtLocation(arg);
          // `Promise | undefined` asserted to be undefined is a question about the promise.
          if (!isPromise(checker, type) || (type.isUnion() && !type.types.every((u) => isPromise(checker, u)))) continue;
          const { line } = sf.getLineAndCharacterOfPosition(arg.getStart(sf));
          out.push({ file: rel, line: line + 1, text: `assertion of a promise: ${arg.getText(sf).slice(0, 100)}` });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const f of floatingPromises(process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['collector', 'agent', 'proto', 'bin', 'bench', 'test'])) {
    console.log(`${f.file}:${f.line}: ${f.text}`);
  }
}
