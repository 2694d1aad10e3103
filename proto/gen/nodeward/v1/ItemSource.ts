// Original file: proto/nodeward/v1/agent.proto

export const ItemSource = {
  ITEM_SOURCE_UNSPECIFIED: 'ITEM_SOURCE_UNSPECIFIED',
  ITEM_SOURCE_LEARNED: 'ITEM_SOURCE_LEARNED',
  ITEM_SOURCE_STARTUP: 'ITEM_SOURCE_STARTUP',
  ITEM_SOURCE_OPERATOR: 'ITEM_SOURCE_OPERATOR',
} as const;

export type ItemSource =
  | 'ITEM_SOURCE_UNSPECIFIED'
  | 0
  | 'ITEM_SOURCE_LEARNED'
  | 1
  | 'ITEM_SOURCE_STARTUP'
  | 2
  | 'ITEM_SOURCE_OPERATOR'
  | 3

export type ItemSource__Output = typeof ItemSource[keyof typeof ItemSource]
