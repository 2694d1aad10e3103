// Planted for test/collector/floating-promises.test.ts: each line it names holds one mistake.
import type { ExecutionContext } from 'ava';

const later = async (): Promise<number> => 1;

export async function planted(t: ExecutionContext): Promise<unknown> {
  await later();
  later();
  const n = later();
  const answer = { n };
  t.truthy(answer);
  const sum = later() + 'x';
  void later();
  t.truthy(later());
  return sum;
}
