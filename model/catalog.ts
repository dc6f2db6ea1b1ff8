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
  /** The file each document (`Kind/name`) read in `from` came from; '' when it came from none. */
  private readonly files = new Map<string, string>();

  /** Refuses the same kind and name twice, naming both places. */
  static from(resources: ReadonlyArray<{ resource: Resource; file?: string }>): Catalog {
    const catalog = new Catalog();
    const issues: Issue[] = [];
    for (const { resource, file } of resources) {
      const key = `${resource.kind}/${resource.metadata.name}`;
      if (catalog.files.has(key)) {
        issues.push({ file, document: key, path: 'metadata.name', message: `is defined twice (also in ${catalog.files.get(key) || 'the input'})` });
        continue;
      }
      catalog.files.set(key, file ?? '');
      catalog.add(resource);
    }
    if (issues.length) throw new ValidationError(issues);
    return catalog;
  }

  /** A ValidationError of these issues, each naming the file its document came from where the catalog knows it. */
  invalid(issues: Issue[]): ValidationError {
    return new ValidationError(issues.map((i) => (i.file || !i.document || !this.files.get(i.document) ? i : { ...i, file: this.files.get(i.document) })));
  }

  add(resource: Resource): void {
    this.mapFor(resource.kind).set(resource.metadata.name, resource);
  }

  /** Every definition, of every kind (the built-in cluster too). */
  definitions(): Resource[] {
    return [this.hosts, this.clusters, this.tasks, this.pipelines, this.schedules, this.inspections, this.eventHooks].flatMap((m) => [...m.values()]);
  }

  has(kind: Kind, name: string): boolean {
    return this.mapFor(kind).has(name);
  }

  /** The message for a reference to a `kind` that is not defined, with what there is instead. */
  undefinedReference(kind: Kind, name: string): string {
    return `names ${kind} "${name}", which is not defined${this.notDefinedHint(kind, name)}`;
  }

  /**
   * Says, after "is not defined", what the catalog has instead: the name most likely meant (a typo
   * away), else the names of that kind when they are few, else how many there are.
   */
  notDefinedHint(kind: Kind, name: string): string {
    const meant = this.likelyMeant(kind, name);
    if (meant) return `; did you mean "${meant}"?`;
    const names = [...this.mapFor(kind).keys()].sort();
    if (names.length === 0) return ` (no ${kind} is defined)`;
    if (names.length <= LISTED_NAMES) return ` (defined: ${names.join(', ')})`;
    return ` (${names.length} ${kind}s are defined)`;
  }

  /**
   * The defined `kind` a misspelt `name` most likely stands for: the same but for case, or a typo or
   * two away. Names that differ only in their digits are other members of a series (web-9 is not a
   * typo of web-2), never suggested.
   */
  likelyMeant(kind: Kind, name: string): string | undefined {
    const lower = name.toLowerCase();
    const names = [...this.mapFor(kind).keys()];
    const sameButCase = names.find((n) => n.toLowerCase() === lower);
    if (sameButCase) return sameButCase;
    const limit = name.length <= 4 ? 1 : 2;
    const series = (n: string) => n.replace(/[0-9]+/g, '#');
    let best: { name: string; distance: number } | undefined;
    for (const candidate of names) {
      if (series(candidate.toLowerCase()) === series(lower)) continue;
      const distance = editDistance(lower, candidate.toLowerCase());
      if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
    }
    return best?.name;
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

/** A hint lists the defined names of a kind up to this many. */
const LISTED_NAMES = 8;

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
