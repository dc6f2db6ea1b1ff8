import type { NatsConnection } from 'nats';
import { hostFromSubjectToken } from '../model/naming';
import type { DefinitionStore } from './store/definitions';

/** Heartbeat events: CloudEvents on ops.clusters.<cluster>.hosts.<host>.status with `data.state`. */
const HEARTBEAT_SUBJECT = 'ops.clusters.*.hosts.*.status';

/**
 * The last heartbeat state of each host, for the ops_hosts gauge. Hosts that no heartbeat has
 * reported yet count as `unknown`.
 */
export class HostStates {
  private readonly last = new Map<string, string>();

  constructor(private readonly definitions: DefinitionStore) {}

  follow(nc: NatsConnection): void {
    const sub = nc.subscribe(HEARTBEAT_SUBJECT);
    void (async () => {
      for await (const m of sub) {
        try {
          const event = m.json<{ data?: { state?: string; status?: string } }>();
          const state = event.data?.state ?? event.data?.status;
          if (typeof state === 'string' && /^[A-Za-z]{1,32}$/.test(state)) this.last.set(hostFromSubjectToken(m.subject.split('.')[4]), state);
        } catch {
          // Not JSON: not one of ours.
        }
      }
    })();
  }

  async counts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const host of await this.definitions.list('Host')) {
      const state = this.last.get(host.metadata.name) ?? 'unknown';
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }
}
