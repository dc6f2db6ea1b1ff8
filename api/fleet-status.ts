import { DeliverPolicy, type JsMsg, type NatsConnection } from 'nats';
import type { ClusterStatus, HostStatus, InspectionResult } from '../model/facts';
import type { CloudEvent } from '../model/event-match';
import { EVENTS_STREAM } from '../model/naming';
import type { DefinitionStore } from './store/definitions';
import { followStream } from './stream-reader';

/**
 * Status events, one consumer each: not all of `ops.clusters.>`, whose run status events (a subject
 * per run) would have to be read at every start only to be ignored.
 */
const STATUS_SUBJECTS = ['ops.clusters.*.hosts.*.status', 'ops.clusters.*.clusters.*.status', 'ops.clusters.*.inspections.>'];

/**
 * The latest heartbeat of every host and cluster and the latest verdict of every inspection, read
 * from the hub's events stream: at start the last event of each subject, then each new one. The
 * API's host, cluster and inspection listings and the ops_hosts gauge read it.
 */
export class FleetStatus {
  private readonly hosts = new Map<string, HostStatus>();
  private readonly clusters = new Map<string, ClusterStatus>();
  private readonly inspections = new Map<string, Map<string, InspectionResult>>();
  private readonly stop = new AbortController();

  constructor(private readonly definitions: DefinitionStore) {}

  follow(nc: NatsConnection, log: (message: string) => void): void {
    for (const filter of STATUS_SUBJECTS) {
      void followStream(nc, EVENTS_STREAM, { filter, start: { deliver_policy: DeliverPolicy.LastPerSubject } }, (m) => this.record(m), this.stop.signal, log);
    }
  }

  close(): void {
    this.stop.abort();
  }

  host(name: string): HostStatus | undefined {
    return this.hosts.get(name);
  }

  cluster(name: string): ClusterStatus | undefined {
    return this.clusters.get(name);
  }

  /** The latest verdict on each target of an inspection, by target. */
  inspection(name: string): InspectionResult[] {
    return [...(this.inspections.get(name)?.values() ?? [])].sort((a, b) => a.target.localeCompare(b.target));
  }

  /** Defined hosts by the state of their last heartbeat; `unknown` until one reports. */
  async counts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const host of await this.definitions.list('Host')) {
      const state = this.hosts.get(host.metadata.name)?.state ?? 'unknown';
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }

  private record(m: JsMsg): void {
    let event: CloudEvent;
    try {
      event = m.json<CloudEvent>();
    } catch {
      return; // not JSON: not one of ours
    }
    const kind = m.subject.split('.')[3];
    const data = event.data as unknown;
    if (kind === 'hosts' && isNewer(data as HostStatus, this.hosts.get((data as HostStatus).host))) this.hosts.set((data as HostStatus).host, data as HostStatus);
    else if (kind === 'clusters' && isNewer(data as ClusterStatus, this.clusters.get((data as ClusterStatus).cluster))) this.clusters.set((data as ClusterStatus).cluster, data as ClusterStatus);
    else if (kind === 'inspections') {
      const result = data as InspectionResult;
      const byTarget = this.inspections.get(result.inspection) ?? new Map<string, InspectionResult>();
      if (isNewer(result, byTarget.get(result.target))) byTarget.set(result.target, result);
      this.inspections.set(result.inspection, byTarget);
    }
  }
}

/** Sourced events may arrive out of order across clusters; the latest observation wins. */
function isNewer(next: { observedAt?: string } | undefined, current: { observedAt?: string } | undefined): boolean {
  if (!next || typeof next.observedAt !== 'string') return false;
  return !current?.observedAt || next.observedAt >= current.observedAt;
}
