// One-off: inserts `await` where test and bench code uses a collector promise as a value.
import ts from 'typescript';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const only = process.argv.slice(2);
const config = ts.getParsedCommandLineOfConfigFile(resolve(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
const program = ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, incremental: false, noEmit: true } });
const checker = program.getTypeChecker();

function isPromise(type: ts.Type): boolean {
  if (type.isUnion()) return type.types.some(isPromise);
  return type.getProperty('then') !== undefined && type.getProperty('catch') !== undefined;
}
const SKIP_CALLEE = /throwsAsync|notThrowsAsync|Promise\.(all|race|allSettled)|eventually|\.then$|\.catch$|\.finally$/;
const TEST_FN = /^(test|test\.serial|test\.before|test\.after|test\.after\.always|test\.beforeEach|test\.afterEach|test\.afterEach\.always|test\.before\.each|it|serial)$/;

for (const sf of program.getSourceFiles()) {
  const rel = relative(ROOT, sf.fileName);
  if (!(rel.startsWith('test/') || rel.startsWith('bench/'))) continue;
  if (only.length > 0 && !only.includes(rel)) continue;
  const edits: Array<{ pos: number; text: string }> = [];
  const asyncFns = new Set<ts.Node>();
  const manual: string[] = [];
  const visit = (node: ts.Node): void => {
    ts.forEachChild(node, visit);
    if (!ts.isCallExpression(node)) return;
    const sig = checker.getResolvedSignature(node);
    const decl = sig?.getDeclaration();
    if (!decl) return;
    const dfile = relative(ROOT, decl.getSourceFile().fileName);
    if (!dfile.startsWith('collector/') && !((dfile.startsWith('test/') || dfile.startsWith('bench/')) && (ts.getCombinedModifierFlags(decl as ts.Declaration) & ts.ModifierFlags.Async) !== 0 && /store|Store|walk|fill|scan|hello|missing|cluster|notes|planner|generate|direct|bench/i.test(decl.getText().slice(0, 200)))) return;
    if (!isPromise(checker.getTypeAtLocation(node))) return;
    let p: ts.Node = node.parent;
    while (ts.isParenthesizedExpression(p)) p = p.parent;
    if (ts.isAwaitExpression(p) || ts.isVoidExpression(p) || ts.isReturnStatement(p)) return;
    if (ts.isArrowFunction(p) && p.body === node) return;
    if (ts.isCallExpression(p) && p.arguments.includes(node as ts.Expression) && SKIP_CALLEE.test(p.expression.getText(sf))) return;
    if (ts.isPropertyAccessExpression(p) && /^(then|catch|finally)$/.test(p.name.text)) return;
    if (ts.isArrayLiteralExpression(p) && ts.isCallExpression(p.parent) && SKIP_CALLEE.test(p.parent.expression.getText(sf))) return;
    // The enclosing function.
    let fn: ts.Node | undefined = node.parent;
    while (fn && !ts.isFunctionLike(fn)) fn = fn.parent;
    if (!fn || ts.isSourceFile(fn)) { manual.push(`${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1} top level`); return; }
    const isAsync = (ts.getCombinedModifierFlags(fn as ts.Declaration) & ts.ModifierFlags.Async) !== 0;
    if (!isAsync) {
      const call = fn.parent;
      const ok = (ts.isCallExpression(call) && (TEST_FN.test(call.expression.getText(sf)) || /^(eventually|t\.teardown|walk)$/.test(call.expression.getText(sf)))) || ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)
        || (ts.isVariableDeclaration(call)) || ts.isPropertyAssignment(call);
      if (!ok) { manual.push(`${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1} in a callback: ${call.getText(sf).slice(0, 80)}`); return; }
      asyncFns.add(fn);
    }
    const needsParens = ts.isPropertyAccessExpression(p) || ts.isElementAccessExpression(p) || (ts.isCallExpression(p) && p.expression === node)
      || ts.isNonNullExpression(p);
    edits.push({ pos: node.getStart(sf), text: needsParens ? '(await ' : 'await ' });
    if (needsParens) edits.push({ pos: node.getEnd(), text: ')' });
  };
  visit(sf);
  for (const fn of asyncFns) {
    const f = fn as ts.FunctionLikeDeclaration;
    edits.push({ pos: f.getStart(sf), text: 'async ' });
  }
  for (const m of manual) console.log(`MANUAL ${m}`);
  if (edits.length === 0) continue;
  let text = readFileSync(sf.fileName, 'utf8');
  edits.sort((a, b) => b.pos - a.pos);
  for (const e of edits) text = text.slice(0, e.pos) + e.text + text.slice(e.pos);
  writeFileSync(sf.fileName, text);
  console.log(`${rel}: ${edits.length} edits`);
}
