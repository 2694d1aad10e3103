// Where a node's exposure collector was cut short, counted at every collection since its agent
// started (AgentStats' exposure_* fields, docs/exposure.md): the agent counts them
// (agent/exposure/cuts.ts), the collector keeps and shows them (collector/store/boundary/nodes.ts).
export interface ExposureCuts {
  /** Collections whose walk of /proc/<pid>/fd stopped at its process limit ... */
  readonly walkPidLimitHits: number;
  /** ... or at its time budget. */
  readonly walkTimeLimitHits: number;
  /** Processes whose descriptors were cut at the per-process limit. */
  readonly walkFdLimitHits: number;
  /** fd directories that could not be read. */
  readonly walkUnreadable: number;
  /** Socket table rows refused. */
  readonly rowsRefused: number;
  /** Listening sockets left out by the bounds (the parser's, the agent's, the wire's). */
  readonly listenersDropped: number;
  /** The last walk used the native reader. */
  readonly nativeReader: boolean;
}
