// /api/v1/webhooks: the configured destinations with their queue counts, the outbox rows
// (deliveries) with their status, and the admin call that sends dead letters again.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { decodeDeliveryCursor, DELIVERY_STATUSES } from '../store/store.js';
import { ALERT_EVENTS } from '../finding.js';
import { SINK_FORMATS } from '../webhooks/types.js';
import type { ApiContext } from './context.js';
import { pick } from './findings.js';
import { ErrorBody, Page } from './schemas.js';
import { literals, nullable } from '../schema.js';

export const DeliveriesQuery = Type.Object({
  destination: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only the deliveries to this destination (its name in the webhooks setting)' })),
  status: Type.Optional(literals(DELIVERY_STATUSES, 'Only the deliveries in this status')),
  findingId: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$', description: 'Only the deliveries of alerts about this finding' })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Items per page at most' }),
  cursor: Type.Optional(Type.String({ maxLength: 256, description: 'The nextCursor of the previous page' })),
}, { additionalProperties: false });

export const Delivery = Type.Object({
  id: Type.Integer({ description: 'The outbox row: one alert for one destination' }),
  deliveryId: nullable(Type.String(), 'X-Nodeward-Delivery of the message the row goes out in (set at its first try)'),
  destination: Type.String({ description: 'The destination (its name in the webhooks setting)' }), event: literals(ALERT_EVENTS, 'The change of the finding it announces'),
  findingId: Type.String({ description: 'The finding' }), status: literals(DELIVERY_STATUSES, 'Where the row stands'),
  attempts: Type.Integer({ description: 'Tries so far' }), lastStatus: nullable(Type.Integer(), 'HTTP status of the last try; null: no answer'),
  lastError: Type.String({ description: 'Why the last try failed (bounded; never holds secrets)' }),
  createdAt: Type.String({ description: 'When the alert was queued' }),
  nextAttemptAt: nullable(Type.String(), 'When it is tried next; null when it is not pending'),
  deliveredAt: nullable(Type.String(), 'When it was delivered; null until then'),
  deadAt: nullable(Type.String(), 'When it became a dead letter (out of tries); null unless dead'),
});

export const DeliveryPage = Page(Delivery, 'deliveries');

export const WebhookQueue = Type.Object({
  name: Type.String({ description: 'The destination (its name in the webhooks setting)' }), format: literals(SINK_FORMATS, 'What it is sent: the format of its messages'),
  pending: Type.Integer({ description: 'Alerts waiting to be delivered' }), dead: Type.Integer({ description: 'Dead letters: alerts out of tries' }),
  dropped: Type.Integer({ description: 'Alerts dropped because the destination had its maximum of pending rows' }),
});

export const WebhookPage = Type.Object({
  items: Type.Array(WebhookQueue, { description: 'Every configured destination' }),
  nextCursor: Type.Null({ description: 'Always null: one page holds them all' }),
});

export const RetryBody = Type.Object({
  ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000, description: 'Dead letters to send again (delivery row ids)' })),
  destination: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Every dead letter of this destination (or, with ids, only those of it)' })),
}, { additionalProperties: false });

export const RetryResult = Type.Object({ retried: Type.Integer({ description: 'Dead letters put back in their queue' }) });

export function registerWebhookRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { outbox } = ctx.store;

  app.get('/api/v1/webhooks', {
    schema: {
      operationId: 'listWebhooks', tags: ['webhooks'],
      summary: 'The configured webhook destinations with their pending, dead and dropped counts',
      description: 'Each destination of the `webhooks` setting; docs/webhooks.md says what is sent.',
      response: { 200: WebhookPage },
    },
  }, async () => ({
    items: (await outbox.counts()).map((c) => ({ name: c.destination, format: c.format, pending: c.pending, dead: c.dead, dropped: c.dropped })),
    nextCursor: null,
  }));

  app.get<{ Querystring: Static<typeof DeliveriesQuery> }>('/api/v1/webhooks/deliveries', {
    schema: {
      operationId: 'listWebhookDeliveries', tags: ['webhooks'],
      summary: 'Webhook deliveries (one row per alert and destination), newest first',
      description: 'Every alert queued for a webhook, with its delivery id, tries, last HTTP status and error.',
      querystring: DeliveriesQuery, response: { 200: DeliveryPage, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const q = req.query;
    const before = q.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeDeliveryCursor(q.cursor);
    if (before === undefined) return reply.code(400).send({ error: 'parameter cursor is not a cursor this API issued' });
    return outbox.list({ destination: q.destination, status: q.status, findingId: q.findingId }, q.limit, before);
  });

  app.post<{ Body: Static<typeof RetryBody> }>('/api/v1/webhooks/deliveries/retry', {
    config: { role: 'admin', audit: { action: 'webhook.retry', detail: (req) => pick(req.body, ['ids', 'destination']) } },
    schema: {
      operationId: 'retryWebhookDeliveries', tags: ['webhooks'],
      summary: 'Send dead letters again: by id, or all of a destination (admin)',
      description: 'Takes `ids`, or `destination` for all of its dead letters.',
      body: RetryBody, response: { 200: RetryResult, 400: ErrorBody },
    },
  }, async (req, reply) => {
    const { ids, destination } = req.body;
    if (ids === undefined && destination === undefined) return reply.code(400).send({ error: 'body field ids or destination is required' });
    if (destination !== undefined && !outbox.destinations().some((d) => d.name === destination)) {
      return reply.code(400).send({ error: `body field destination: no webhook named ${JSON.stringify(destination)} is configured` });
    }
    const retried = await outbox.retry({ ids, destination }, ctx.now());
    req.log.info({ who: req.principal?.name, destination, ids: ids?.length, retried }, 'webhook dead letters retried');
    return { retried };
  });
}
