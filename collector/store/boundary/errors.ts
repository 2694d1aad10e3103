// What a store refuses with: a stable code (BASELINE_LIMIT, NO_CONTENT_SEEN, NESTED_UNIT,
// DB_TOO_NEW, DB_UNREACHABLE, DB_SCHEMA, CLUSTER_MISMATCH) that the pipeline and the API map to answers.
// Every backend throws these.
export class StoreError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}
