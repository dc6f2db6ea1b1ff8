import type { Host } from './host';
import type { Cluster } from './cluster';
import { API_VERSION, LOCAL_CLUSTER } from './naming';
import type { Task } from './task';
import type { Pipeline } from './pipeline';
import type { Schedule } from './schedule';
import type { Inspection } from './inspection';
import type { EventHook } from './event-hook';
import type { Kind, Resource } from './resources';
import { ValidationError, type Issue } from './errors';

/** The cluster that always exists: the machine the embedded stack runs on. */
export const localCluster: Cluster = {
  apiVersion: API_VERSION,
  kind: 'Cluster',
  metadata: { name: LOCAL_CLUSTER },
  spec: { description: 'Hosts reached from the built-in worker' },
};

/** A consistent set of definitions: what `ops run -f` loads, or what the server's store holds. */
export class Catalog {
  readonly hosts = new Map<string, Host>();
  readonly clusters = new Map<string, Cluster>([[localCluster.metadata.name, localCluster]]);
  readonly tasks = new Map<string, Task>();
  readonly pipelines = new Map<string, Pipeline>();
  readonly schedules = new Map<string, Schedule>();
  readonly inspections = new Map<string, Inspection>();
  readonly eventHooks = new Map<string, EventHook>();

  /** Refuses the same kind and name twice, naming both places. */
  static from(resources: ReadonlyArray<{ resource: Resource; file?: string }>): Catalog {
    const catalog = new Catalog();
    const seen = new Map<string, string>();
    const issues: Issue[] = [];
    for (const { resource, file } of resources) {
      const key = `${resource.kind}/${resource.metadata.name}`;
      if (seen.has(key)) {
        issues.push({ file, document: key, path: 'metadata.name', message: `is defined twice (also in ${seen.get(key) || 'the input'})` });
        continue;
      }
      seen.set(key, file ?? '');
      catalog.add(resource);
    }
    if (issues.length) throw new ValidationError(issues);
    return catalog;
  }

  add(resource: Resource): void {
    this.mapFor(resource.kind).set(resource.metadata.name, resource);
  }

  private mapFor(kind: Kind): Map<string, Resource> {
    const maps: Record<Kind, Map<string, Resource>> = {
      Host: this.hosts as Map<string, Resource>,
      Cluster: this.clusters as Map<string, Resource>,
      Task: this.tasks as Map<string, Resource>,
      Pipeline: this.pipelines as Map<string, Resource>,
      Schedule: this.schedules as Map<string, Resource>,
      Inspection: this.inspections as Map<string, Resource>,
      EventHook: this.eventHooks as Map<string, Resource>,
    };
    return maps[kind];
  }
}
