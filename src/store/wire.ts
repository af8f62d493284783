/** The JSON shape of an event on the API and in webhooks (CONTRACT.md "Event"). */
import { isoTime } from '../wire/json.js';
import type { SluiceEvent } from './types.js';

export interface WireEvent extends Omit<SluiceEvent, 'time'> {
  time: string;
}

export function wireEvent(e: SluiceEvent): WireEvent {
  return {
    id: e.id,
    time: isoTime(e.time),
    severity: e.severity,
    source: e.source,
    rule_id: e.rule_id,
    rule_name: e.rule_name,
    message: e.message,
    captures: e.captures,
    record_seq: e.record_seq,
    origin: e.origin,
  };
}
