// Original file: proto/nodeward/v1/agent.proto

export const Status = {
  STATUS_UNSPECIFIED: 'STATUS_UNSPECIFIED',
  STATUS_PASS: 'STATUS_PASS',
  STATUS_FAIL: 'STATUS_FAIL',
  STATUS_WARN: 'STATUS_WARN',
  STATUS_SKIP: 'STATUS_SKIP',
  STATUS_ERROR: 'STATUS_ERROR',
} as const;

export type Status =
  | 'STATUS_UNSPECIFIED'
  | 0
  | 'STATUS_PASS'
  | 1
  | 'STATUS_FAIL'
  | 2
  | 'STATUS_WARN'
  | 3
  | 'STATUS_SKIP'
  | 4
  | 'STATUS_ERROR'
  | 5

export type Status__Output = typeof Status[keyof typeof Status]
