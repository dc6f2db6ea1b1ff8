import type { NatsConnection, StreamConfig, StreamSource } from 'nats';
import type { Catalog } from '../model/catalog';
import { EVENTS_STREAM, LOCAL_CLUSTER, LOGS_STREAM } from '../model/naming';
import { eventStreamConfig, logStreamConfig, type EventLimits } from '../activities/streams';
import { canonicalJson } from './store/definitions';

/** What a source names: the same stream in the cluster's own JetStream domain (its NATS's domain is its name). */
export function clusterSources(stream: string, clusters: string[]): StreamSource[] {
  return clusters.map((cluster) => ({ name: stream, external: { api: `$JS.${cluster}.API`, deliver: '' } }));
}

/**
 * The hub's events and logs streams. Workers publishing to the hub's own NATS (the `local` cluster,
 * the control worker) land in them directly; every other cluster's worker publishes to its own
 * NATS, whose streams the hub's source over the leafnode link. A cut link only delays them: each
 * source resumes after the last message it copied, so none is lost and none copied twice.
 */
export class EventHub {
  readonly name = 'event streams';

  constructor(
    private readonly nc: NatsConnection,
    private readonly limits: EventLimits,
  ) {}

  async reconcile(catalog: Catalog): Promise<void> {
    const remote = [...catalog.clusters.keys()].filter((c) => c !== LOCAL_CLUSTER).sort();
    await this.ensure(eventStreamConfig(this.limits, clusterSources(EVENTS_STREAM, remote)));
    await this.ensure(logStreamConfig(clusterSources(LOGS_STREAM, remote)));
  }

  /** Creates the stream, or updates it when what Ops sets differs. */
  private async ensure(config: Partial<StreamConfig> & { name: string }): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    const current = await jsm.streams.info(config.name).then(
      (info) => info.config,
      () => undefined,
    );
    if (!current) {
      await jsm.streams.add(config);
      return;
    }
    const differs = (Object.keys(config) as Array<keyof StreamConfig>).some((key) => canonicalJson(current[key]) !== canonicalJson(config[key]));
    const droppedSources = !config.sources && (current.sources?.length ?? 0) > 0;
    if (differs || droppedSources) await jsm.streams.update(config.name, { ...current, ...config, sources: config.sources ?? [] });
  }
}
