// The posture judges the collector runs (judge.ts): main passes this list to the posture
// watch (posture-watch.ts). Adding a judge is one line here; the watch follows every kind it
// declares, shares the informers with the other judges, and commits its findings.
import type { PostureJudge } from './judge.js';
import { createRbacJudge } from './rbac-posture.js';
import { workloadJudge } from './workload-judge.js';

export function postureJudges(): PostureJudge<unknown>[] {
  return [
    createRbacJudge(),
    workloadJudge,
  ] as PostureJudge<unknown>[];
}
