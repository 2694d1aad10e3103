// Numbered migrations keyed on PRAGMA user_version. Append only: a released migration is
// never edited, and a database newer than the code is refused.
import { m001Initial } from './001-initial.js';
import { m002Operations } from './002-operations.js';
import { m003Baselines } from './003-baselines.js';
import { m004Webhooks } from './004-webhooks.js';
import { m005AgentCounters } from './005-agent-counters.js';
import { m006WireTimes } from './006-wire-times.js';
import { m007Quotas } from './007-quotas.js';
import { m008RedactStored } from './008-redact-stored.js';
import { m009ExecSource } from './009-exec-source.js';
import { m010AgentJudgement } from './010-agent-judgement.js';
import { m011ItemDigests } from './011-item-digests.js';
import { m012FindingOrders } from './012-finding-orders.js';
import { m013MergedChecks } from './013-merged-checks.js';
import { m014ItemsRefused } from './014-items-refused.js';
import { m015ClusterNodes } from './015-cluster-nodes.js';
import { m016IdentityFailures } from './016-identity-failures.js';
import { m017AgentActivity } from './017-agent-activity.js';
import { m018Sessions } from './018-sessions.js';
import { m019NodeExposure } from './019-node-exposure.js';
import { m020FindingScope } from './020-finding-scope.js';
import { m021ListenAllows } from './021-listen-allows.js';
import { m022ExposureCuts } from './022-exposure-cuts.js';
import { m023NodeBenchmark } from './023-node-benchmark.js';
import { m024WebhookDrains } from './024-webhook-drains.js';
import { m025ClusterIdentity } from './025-cluster-identity.js';
import { m026RollupStripes } from './026-rollup-stripes.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

export const MIGRATIONS: readonly Migration[] = [m001Initial, m002Operations, m003Baselines, m004Webhooks, m005AgentCounters, m006WireTimes, m007Quotas, m008RedactStored, m009ExecSource, m010AgentJudgement, m011ItemDigests, m012FindingOrders, m013MergedChecks, m014ItemsRefused, m015ClusterNodes, m016IdentityFailures, m017AgentActivity, m018Sessions, m019NodeExposure, m020FindingScope, m021ListenAllows, m022ExposureCuts, m023NodeBenchmark, m024WebhookDrains, m025ClusterIdentity, m026RollupStripes];
