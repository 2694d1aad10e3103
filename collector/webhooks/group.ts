// Grouping: the pending outbox rows of one destination, in outbox order, become the
// messages to send, in the order to send them.
//
//   groupChanges(rows: readonly OutboxRow[], opts: GroupOptions): GroupedMessage[]
//
// - Changes with the same (checkId, event) whose rows were queued less than `windowMs` after
//   the first row of their group share one message (at most `maxGroup` changes), with one
//   change per finding: a burst of one check failing on 300 nodes is one message.
//   `windowMs: 0` turns grouping off.
// - Per finding, order is kept: a change never joins a message that comes before the message
//   holding the same finding's earlier change; it starts a new message instead.
// - Each message's deliveryId is `deliveryIdFor(destination, rows)`: a hash of the rows it
//   covers (their ids and the changes they carry), so the same group retried has the same
//   id, and a new database that reuses row ids does not repeat an old id.
// - A group may still grow until its window closes. With `now`, each message says whether it
//   can be sent (`ready`: full, or its window has closed, and every message before it is
//   ready, which keeps per-finding order when some are held back) and from when (`readyAt`).
//   Without `now` every message is ready (e.g. a final flush).
import { createHash } from 'node:crypto';
import type { AlertEvent, FindingChange } from '../finding.js';
import type { AlertMessage } from './types.js';

export interface OutboxRow {
  readonly rowId: number;
  readonly change: FindingChange;
  /** When the row was written (ms since the epoch). */
  readonly queuedAt: number;
}

export interface GroupOptions {
  /** Destination name: part of every delivery id. */
  readonly destination: string;
  readonly windowMs: number;
  readonly maxGroup: number;
  /** Current time (ms); when given, `ready` holds back groups whose window is still open. */
  readonly now?: number;
}

export interface GroupedMessage {
  /** The outbox rows this message covers, in outbox order. */
  readonly rowIds: readonly number[];
  readonly message: AlertMessage;
  readonly ready: boolean;
  /** When the group stops growing: its first row's time plus the window, or at once when full. */
  readonly readyAt: number;
}

/** A UUID (version 8: derived by our own hash) from the destination and the rows it covers. */
export function deliveryIdFor(destination: string, rows: readonly OutboxRow[]): string {
  const h = createHash('sha256').update(`${destination}\n`);
  for (const r of rows) h.update(`${r.rowId} ${r.change.finding.id} ${r.change.event} ${r.change.at}\n`);
  const hex = h.digest('hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

interface Group {
  readonly index: number;
  readonly event: AlertEvent;
  readonly first: number;
  readonly rows: OutboxRow[];
}

export function groupChanges(rows: readonly OutboxRow[], opts: GroupOptions): GroupedMessage[] {
  const maxGroup = Math.max(1, opts.maxGroup);
  const groups: Group[] = [];
  const open = new Map<string, Group>(); // (checkId, event) -> the latest group that may grow
  const latest = new Map<string, number>(); // finding id -> index of the group with its latest change

  for (const row of rows) {
    const { finding, event } = row.change;
    const key = `${finding.checkId}\n${event}`;
    const g = open.get(key);
    const fits = g !== undefined
      && row.queuedAt >= g.first && row.queuedAt - g.first < opts.windowMs
      && g.rows.length < maxGroup
      && (latest.get(finding.id) ?? -1) < g.index;
    let target = g;
    if (!fits || !target) {
      target = { index: groups.length, event, first: row.queuedAt, rows: [] };
      groups.push(target);
      open.set(key, target);
    }
    target.rows.push(row);
    latest.set(finding.id, target.index);
  }

  let held = false;
  return groups.map((g) => {
    const readyAt = g.rows.length >= maxGroup ? g.first : g.first + opts.windowMs;
    held ||= opts.now !== undefined && opts.now < readyAt;
    const message: AlertMessage = { deliveryId: deliveryIdFor(opts.destination, g.rows), event: g.event, changes: g.rows.map((r) => r.change) };
    return { rowIds: g.rows.map((r) => r.rowId), message, ready: !held, readyAt };
  });
}
