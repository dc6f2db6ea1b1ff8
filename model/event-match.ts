/** Reading fields of a CloudEvent: EventHooks select events by them and take run variables from them. */
import { renderTemplate } from './template';
import type { FieldMatch } from './event-hook';

/** A CloudEvents 1.0 event in structured JSON mode, as Ops publishes them. */
export interface CloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype?: string;
  data: Record<string, unknown>;
}

export const EVENT_ATTRIBUTES = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data'];

/** A path such as `data.host`, `data.facts.disks.0.mount` or `subject`. */
export const EVENT_FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$/;

export function eventRefProblem(ref: string): string | undefined {
  const head = ref.split('.')[0];
  return EVENT_ATTRIBUTES.includes(head) ? undefined : `"\${${ref}}" is not a field of the event (${EVENT_ATTRIBUTES.join(', ')}, e.g. \${data.host})`;
}

/** The field as text: strings as they are, other values as JSON; undefined when absent. */
export function eventField(event: CloudEvent, path: string): string | undefined {
  let value: unknown = event;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Whether every condition holds; a condition on a missing field does not. */
export function matchesEvent(conditions: ReadonlyArray<FieldMatch>, event: CloudEvent): boolean {
  return conditions.every((c) => {
    const value = eventField(event, c.field);
    if (value === undefined) return false;
    if (c.equals !== undefined) return value === c.equals;
    if (c.contains !== undefined) return value.includes(c.contains);
    return new RegExp(c.regex as string).test(value);
  });
}

/** Renders `${data.host}`-style references with the event's fields; a missing field is an error. */
export function renderFromEvent(template: string, event: CloudEvent): string {
  return renderTemplate(template, (ref) => eventField(event, ref));
}
