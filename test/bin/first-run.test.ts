// What `npm start` says after the first scans (bin/first-run.ts): pure, with the time given.
import test from 'ava';
import { allSkipped, demoTriageLines, firstScanLines, learningLine, type NodeStatusLike } from '../../bin/first-run.js';

const NOW = Date.parse('2026-03-01T10:00:00.000Z');
const H = 3600_000;
const none = { pass: 0, fail: 0, warn: 0, skip: 0, error: 0 };

test('all skipped means no check applied; nothing scanned is not all skipped', (t) => {
  t.true(allSkipped({ ...none, skip: 119 }));
  t.false(allSkipped(none));
  t.false(allSkipped({ ...none, skip: 118, pass: 1 }));
  t.false(allSkipped({ ...none, skip: 118, error: 1 }));
});

test('the learning line: learning until when, locked by its window or by an operator, or not reported', (t) => {
  t.is(learningLine({ key: 'host/worker', state: 'learning', until: new Date(NOW + 24 * H).toISOString(), lockedBy: '' }, NOW),
    'Host process learning (host/worker): learning until 2026-03-02T10:00:00.000Z (in 24 h); until then what runs on this machine is learned, not reported (code run from memory or a deleted file is reported even so); after it, a new executable is a finding.');
  t.regex(learningLine({ key: 'host/worker', state: 'learning', until: new Date(NOW + 30 * 60_000).toISOString(), lockedBy: '' }, NOW), /\(in 30 min\)/);
  t.regex(learningLine({ key: 'host/control-plane', state: 'locked', until: '2026-02-28T10:00:00.000Z', lockedBy: 'window' }, NOW),
    /^Host process learning \(host\/control-plane\): done, locked at 2026-02-28T10:00:00.000Z;/);
  t.regex(learningLine({ key: 'host/worker', state: 'locked', until: null, lockedBy: 'operator' }, NOW), /done, locked by an operator;/);
  t.regex(learningLine(null, NOW), /^Host process learning: not reported/);
});

test('the first-scan lines say why nothing fails on a machine that is not a node, and point at the demo only without it', (t) => {
  const laptop: NodeStatusLike = { name: 'laptop', results: { ...none, skip: 119 }, hostLearning: null, openFindings: 0, demo: false };
  const plain = firstScanLines(laptop, { demo: false, now: NOW });
  t.is(plain[0], 'First scan of laptop: 119 checks: 0 failing, 0 warnings, 0 passing, 119 skipped, 0 errors; 0 open findings.');
  t.regex(plain.join('\n'), /Every check was skipped: no kubelet and no control-plane component/);
  t.regex(plain.join('\n'), /npm start -- --demo/);
  t.regex(firstScanLines(laptop, { demo: true, now: NOW }).join('\n'), /The demo nodes below show what a triage looks like\./);
  const node = firstScanLines({ ...laptop, results: { ...none, pass: 80, fail: 3, skip: 30 } }, { demo: false, now: NOW });
  t.false(node.join('\n').includes('Every check was skipped'), 'a node: just what it found');
  t.deepEqual(demoTriageLines([laptop], { critical: 2, high: 5, low: 0 }, ''),
    ['Demo triage on 1 demo nodes (laptop): 2 critical, 5 high open findings.', '  Worst first: ./bin/nodeward query findings --state open --min-severity high']);
});
