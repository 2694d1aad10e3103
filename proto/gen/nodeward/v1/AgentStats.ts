// Original file: proto/nodeward/v1/agent.proto

import type { Long } from '@grpc/proto-loader';

export interface AgentStats {
  'spoolEntries'?: (number | string | Long);
  'spoolBytes'?: (number | string | Long);
  'spoolDropped'?: (number | string | Long);
  'rejected'?: (number | string | Long);
  'execCoverage'?: (string);
  'processEventsCapped'?: (number | string | Long);
  'processEventsLost'?: (number | string | Long);
  'execEventsLost'?: (number | string | Long);
  'execRecordsPartial'?: (number | string | Long);
  'baselineItemsDropped'?: (number | string | Long);
  'baselineKeysEvicted'?: (number | string | Long);
  'baselineReportDropped'?: (number | string | Long);
  'execSource'?: (string);
  'execSourceReason'?: (string);
  'execRingLost'?: (number | string | Long);
  'execUnjudged'?: (number | string | Long);
  'execFakeContainer'?: (number | string | Long);
  'execHostNamespace'?: (number | string | Long);
  'execBatches'?: (number | string | Long);
  'hostDocumentsRefused'?: (number | string | Long);
  'hostDocumentRefusedPath'?: (string);
  'hostDocumentRefusedReason'?: (string);
  'execIdentityFailed'?: (number | string | Long);
  'execIdentityFailedReason'?: (string);
  'execEvents'?: (number | string | Long);
  'lastScanDurationMs'?: (number | string | Long);
  'exposureWalkPidLimitHits'?: (number | string | Long);
  'exposureWalkTimeLimitHits'?: (number | string | Long);
  'exposureWalkFdLimitHits'?: (number | string | Long);
  'exposureWalkUnreadable'?: (number | string | Long);
  'exposureRowsRefused'?: (number | string | Long);
  'exposureListenersDropped'?: (number | string | Long);
  'exposureNativeReader'?: (boolean);
}

export interface AgentStats__Output {
  'spoolEntries': (number);
  'spoolBytes': (number);
  'spoolDropped': (number);
  'rejected': (number);
  'execCoverage': (string);
  'processEventsCapped': (number);
  'processEventsLost': (number);
  'execEventsLost': (number);
  'execRecordsPartial': (number);
  'baselineItemsDropped': (number);
  'baselineKeysEvicted': (number);
  'baselineReportDropped': (number);
  'execSource': (string);
  'execSourceReason': (string);
  'execRingLost': (number);
  'execUnjudged': (number);
  'execFakeContainer': (number);
  'execHostNamespace': (number);
  'execBatches': (number);
  'hostDocumentsRefused': (number);
  'hostDocumentRefusedPath': (string);
  'hostDocumentRefusedReason': (string);
  'execIdentityFailed': (number);
  'execIdentityFailedReason': (string);
  'execEvents': (number);
  'lastScanDurationMs': (number);
  'exposureWalkPidLimitHits': (number);
  'exposureWalkTimeLimitHits': (number);
  'exposureWalkFdLimitHits': (number);
  'exposureWalkUnreadable': (number);
  'exposureRowsRefused': (number);
  'exposureListenersDropped': (number);
  'exposureNativeReader': (boolean);
}
