// `nodeward webhooks list|deliveries|retry`: the webhook destinations with their queues, the
// deliveries (one row per alert and destination, newest first) and sending dead letters again
// (GET /api/v1/webhooks, GET /api/v1/webhooks/deliveries, POST /api/v1/webhooks/deliveries/retry;
// retry needs an admin token and is written to the audit log). Exit codes as for
// `nodeward query`: 0 done, 1 the call failed, 2 usage error.
import { Option, type Command } from 'commander';
import { DELIVERY_STATUSES } from '../store/store.js';
import { getOk, postOk } from './client.js';
import { collect, OUTPUTS, positive, printPage, QueryUsageError, runQuery, withConnection, writeOut, type ConnectionFlags, type QueryIo } from './command.js';
import type { Column } from './table.js';

interface DestinationLike { name: string; format: string; pending: number; dead: number; dropped: number }

interface DeliveryLike {
  id: number; deliveryId: string | null; destination: string; event: string; findingId: string; status: string;
  attempts: number; lastStatus: number | null; lastError: string; createdAt: string; nextAttemptAt: string | null;
  deliveredAt: string | null; deadAt: string | null;
}

const time = (iso: string | null | undefined): string | null => (iso ? iso.replace(/\.\d{3}Z$/, 'Z') : null);

const DESTINATION_COLUMNS: ReadonlyArray<Column<DestinationLike>> = [
  { title: 'Destination', value: (d) => d.name, max: 64 },
  { title: 'Format', value: (d) => d.format },
  { title: 'Pending', value: (d) => d.pending, align: 'right' },
  { title: 'Dead', value: (d) => d.dead, align: 'right' },
  { title: 'Dropped', value: (d) => d.dropped, align: 'right' },
];

/** When the row last changed: delivered, dead, or (pending) when it is tried next. */
const when = (d: DeliveryLike): string | null =>
  d.status === 'delivered' ? time(d.deliveredAt) : d.status === 'dead' ? time(d.deadAt) : d.nextAttemptAt ? `next ${time(d.nextAttemptAt)}` : null;

const DELIVERY_COLUMNS: ReadonlyArray<Column<DeliveryLike>> = [
  { title: 'Id', value: (d) => d.id, align: 'right' },
  { title: 'Destination', value: (d) => d.destination, max: 40 },
  { title: 'Event', value: (d) => d.event },
  { title: 'State', value: (d) => d.status },
  { title: 'Tries', value: (d) => d.attempts, align: 'right' },
  { title: 'HTTP', value: (d) => d.lastStatus, align: 'right' },
  { title: 'Created', value: (d) => time(d.createdAt) },
  { title: 'When', value: when },
  { title: 'Finding', value: (d) => d.findingId },
  { title: 'Last error', value: (d) => d.lastError, max: 80 },
];

function deliveryId(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new QueryUsageError(`${JSON.stringify(v)} is not a delivery id: the Id column of nodeward webhooks deliveries`);
  return n;
}

export function addWebhooksCommand(program: Command, io: QueryIo): Command {
  const webhooks = program.command('webhooks').description('webhook destinations, their deliveries, and sending dead letters again');

  withConnection(webhooks.command('list').description('the configured destinations with their pending, dead and dropped alerts'), OUTPUTS)
    .action(async (o: ConnectionFlags) => {
      await runQuery(o, io, async (conn) => {
        const page = await getOk<{ items: DestinationLike[]; nextCursor: null }>(conn, '/api/v1/webhooks');
        printPage(io, o.output, page, DESTINATION_COLUMNS, 'No webhook is configured.', 'destinations');
      });
    });

  withConnection(webhooks.command('deliveries').description('deliveries, newest first: one row per alert and destination, with its state, tries and last error'), OUTPUTS)
    .addOption(new Option('--state <state>', 'only pending, delivered or dead (dead letters: refused, or not delivered in time)').choices([...DELIVERY_STATUSES]))
    .option('--destination <name>', 'only this destination')
    .option('--finding <id>', 'only alerts about this finding')
    .option('--limit <n>', 'at most this many deliveries', positive, 100)
    .option('--all', 'every delivery that matches (follows every page)')
    .action(async (o: ConnectionFlags & { state?: string; destination?: string; finding?: string; limit: number; all?: boolean }) => {
      await runQuery(o, io, async (conn) => {
        const params = { status: o.state, destination: o.destination, findingId: o.finding?.toLowerCase() };
        const page = await collect<DeliveryLike>(conn, '/api/v1/webhooks/deliveries', params, o.all ? Number.MAX_SAFE_INTEGER : o.limit, 1000);
        printPage(io, o.output, page, DELIVERY_COLUMNS, 'No delivery matches.', 'deliveries');
      });
    });

  withConnection(webhooks.command('retry').description('send dead letters again, by id, or every dead letter of a destination; needs an admin token'))
    .argument('[ids...]', 'delivery ids (the Id column of nodeward webhooks deliveries --state dead)')
    .option('--destination <name>', 'every dead letter of this destination (with ids: only those of it)')
    .action(async (raw: string[], o: ConnectionFlags & { destination?: string }) => {
      const ids = raw.map(deliveryId);
      if (ids.length === 0 && o.destination === undefined) throw new QueryUsageError('webhooks retry needs delivery ids or --destination NAME');
      await runQuery(o, io, async (conn) => {
        const r = await postOk<{ retried: number }>(conn, '/api/v1/webhooks/deliveries/retry', {
          ...(ids.length > 0 ? { ids } : {}), ...(o.destination !== undefined ? { destination: o.destination } : {}),
        });
        writeOut(io, o.output === 'json' ? JSON.stringify(r, null, 2)
          : `${r.retried} dead letter${r.retried === 1 ? '' : 's'} put back in the queue${r.retried < ids.length ? ` (${ids.length - r.retried} of the ids given ${ids.length - r.retried === 1 ? 'is' : 'are'} not a dead letter${o.destination ? ` of ${o.destination}` : ''})` : ''}`);
      });
    });

  return webhooks;
}

