// Original file: proto/nodeward/v1/agent.proto

export const BaselineState = {
  BASELINE_STATE_UNSPECIFIED: 'BASELINE_STATE_UNSPECIFIED',
  BASELINE_STATE_LEARNING: 'BASELINE_STATE_LEARNING',
  BASELINE_STATE_LOCKED: 'BASELINE_STATE_LOCKED',
} as const;

export type BaselineState =
  | 'BASELINE_STATE_UNSPECIFIED'
  | 0
  | 'BASELINE_STATE_LEARNING'
  | 1
  | 'BASELINE_STATE_LOCKED'
  | 2

export type BaselineState__Output = typeof BaselineState[keyof typeof BaselineState]
