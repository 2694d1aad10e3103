import type { Migration } from './migration.js';

// Agents' times from before ingest judged them against the time of receipt (issue 12): a time
// up to 2^53-1 ms was stored as sent. One beyond what a Date holds (8.64e15) made every read
// that formats it fail; one merely far ahead (the year 2200) pinned its rows: a finding's
// last_seen keeps the latest time, a node's result is replaced only by a newer evaluation,
// and a resolution in the future never ages out of retention.
//
// Repaired here: every agent time later than this migration's own clock plus the hour of skew
// ingest now allows (WIRE_TIMES.observed in collector/ingest/validate.ts; the figure is
// written out because a released migration never changes). Each is clamped to the row's own
// time from the collector's clock, which no agent wrote, and which says when the collector
// last heard of the row:
//   findings.first_seen, last_seen, resolved_at   updated_at (of the write that stored them)
//   finding_history.at, last_at                   recorded_at
//   baseline_items.first_seen                     last_seen (the last report that carried it)
//   node_results.evaluated_at                     the migration's time (the row has no other)
// each at most the migration's time, so no repaired time is itself in the future. Old times
// are left alone: they break nothing, and the agent's own word is the only record of them.
// A certificate expiry past 9999-12-31, which X.509 cannot state and Date writes as "+"
// and six digits ("+010000-01-01T...", sorting before every real expiry as text), becomes
// 9999-12-31T23:59:59.999Z, and each node's list is sorted again, soonest first.
export const m006WireTimes: Migration = {
  version: 6,
  name: 'wire-times',
  sql: `
CREATE TEMP TABLE m006_clock AS SELECT
  CAST(unixepoch('subsec') * 1000 AS INTEGER) AS now,
  CAST(unixepoch('subsec') * 1000 AS INTEGER) + 3600000 AS latest;

UPDATE findings SET
  first_seen = CASE WHEN first_seen > (SELECT latest FROM m006_clock)
    THEN min(updated_at, CASE WHEN last_seen > (SELECT latest FROM m006_clock) THEN updated_at ELSE last_seen END, (SELECT now FROM m006_clock))
    ELSE first_seen END,
  last_seen = CASE WHEN last_seen > (SELECT latest FROM m006_clock) THEN min(updated_at, (SELECT now FROM m006_clock)) ELSE last_seen END,
  resolved_at = CASE WHEN resolved_at > (SELECT latest FROM m006_clock) THEN min(updated_at, (SELECT now FROM m006_clock)) ELSE resolved_at END
WHERE first_seen > (SELECT latest FROM m006_clock) OR last_seen > (SELECT latest FROM m006_clock)
  OR resolved_at > (SELECT latest FROM m006_clock);

UPDATE finding_history SET
  at = CASE WHEN at > (SELECT latest FROM m006_clock) THEN min(recorded_at, (SELECT now FROM m006_clock)) ELSE at END,
  last_at = CASE WHEN last_at > (SELECT latest FROM m006_clock) THEN min(recorded_at, (SELECT now FROM m006_clock)) ELSE last_at END
WHERE at > (SELECT latest FROM m006_clock) OR last_at > (SELECT latest FROM m006_clock);

UPDATE baseline_items SET first_seen = min(last_seen, (SELECT now FROM m006_clock))
WHERE first_seen > (SELECT latest FROM m006_clock);

UPDATE node_results SET evaluated_at = (SELECT now FROM m006_clock)
WHERE evaluated_at > (SELECT latest FROM m006_clock);

UPDATE nodes SET certificates = (
  SELECT json_group_array(json(c.value) ORDER BY json_extract(c.value, '$.notAfter'), json_extract(c.value, '$.path'))
  FROM (
    SELECT CASE WHEN substr(json_extract(j.value, '$.notAfter'), 1, 1) = '+'
      THEN json_set(j.value, '$.notAfter', '9999-12-31T23:59:59.999Z') ELSE j.value END AS value
    FROM json_each(nodes.certificates) j
  ) c
)
WHERE json_valid(certificates) AND json_type(certificates) = 'array' AND EXISTS (
  SELECT 1 FROM json_each(nodes.certificates) j
  WHERE substr(json_extract(j.value, '$.notAfter'), 1, 1) = '+'
);

DROP TABLE m006_clock;
`,
};
