// The sink registry: one file per format, looked up by the destination's format.
import type { Sink, SinkFormat } from '../types.js';
import { alertmanagerSink } from './alertmanager.js';
import { falcoSink } from './falco.js';
import { jsonSink } from './json.js';
import { slackSink } from './slack.js';

export const SINKS: Readonly<Record<SinkFormat, Sink>> = {
  json: jsonSink,
  slack: slackSink,
  alertmanager: alertmanagerSink,
  falco: falcoSink,
};

export function sinkFor(format: SinkFormat): Sink {
  return SINKS[format];
}
