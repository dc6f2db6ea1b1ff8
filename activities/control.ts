import type { EventPublisher, OpsEvent } from './events';

/** The activities of the control worker: announcing what pipeline runs do (approval events). */
export function createControlActivities(deps: { events: EventPublisher }) {
  return {
    publishEvent: (event: OpsEvent) => deps.events.publish(event),
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
