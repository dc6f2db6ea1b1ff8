/**
 * Facts a heartbeat reports about hosts and clusters, the values inspections derive from them, and
 * how an inspection judges a value. Pure: the worker's activities measure, this interprets.
 */
import type { InspectionMetric, InspectionSpec } from './inspection';

export interface DiskFacts {
  mount: string;
  sizeBytes: number;
  usedBytes: number;
  /** As `df` shows it: used / (used + available), rounded up. */
  usePercent: number;
}

export interface AcceleratorFacts {
  vendor: string;
  model: string;
  count: number;
}

export interface HostFacts {
  hostname: string;
  kernel: string;
  distribution: string;
  architecture: string;
  cpus: number;
  /** 1, 5 and 15 minute load averages. */
  load: number[];
  memory: { totalBytes: number; usedBytes: number };
  disks: DiskFacts[];
  accelerators: AcceleratorFacts[];
}

export type HostState = 'reachable' | 'unreachable';

/** The data of a host's status event. */
export interface HostStatus {
  host: string;
  cluster: string;
  state: HostState;
  /** Why it is unreachable: the failure type (HostUnreachable, AuthFailed, HostKeyRejected…) and message. */
  failure?: string;
  reason?: string;
  observedAt: string;
  facts?: HostFacts;
}

/** The data of a cluster's status event; `kubernetes` is absent when its worker reaches no Kubernetes API. */
export interface ClusterStatus {
  cluster: string;
  observedAt: string;
  hosts: { reachable: number; unreachable: number };
  kubernetes?: { version: string; nodes: { ready: number; total: number }; pods: { running: number; total: number } };
  /** Why there are no Kubernetes facts. */
  reason?: string;
}

export type InspectionState = 'alerting' | 'normal' | 'unknown';

/** The data of an inspection event: its verdict on one target. */
export interface InspectionResult {
  inspection: string;
  cluster: string;
  target: string;
  metric: InspectionMetric;
  state: InspectionState;
  /** The measured value; absent when it could not be measured (state unknown, see reason). */
  value?: number;
  threshold: { above?: number; below?: number };
  /** Where the value comes from, e.g. the mount of the fullest file system. */
  detail?: string;
  reason?: string;
  observedAt: string;
}

/** Markers the facts script prints before each kind of line. */
const LINE = /^(hostname|kernel|os|arch|cpus|load|memory|disk|accelerator)=(.*)$/;

/** Reads what the facts script prints (one `key=value` per line; disk and accelerator lines repeat). */
export function parseFacts(text: string): HostFacts {
  const facts: HostFacts = { hostname: '', kernel: '', distribution: '', architecture: '', cpus: 0, load: [], memory: { totalBytes: 0, usedBytes: 0 }, disks: [], accelerators: [] };
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const [, key, value] = m;
    const numbers = () => value.split(/\s+/).map(Number);
    switch (key) {
      case 'hostname':
        facts.hostname = value;
        break;
      case 'kernel':
        facts.kernel = value;
        break;
      case 'os':
        facts.distribution = value;
        break;
      case 'arch':
        facts.architecture = value;
        break;
      case 'cpus':
        facts.cpus = Number(value) || 0;
        break;
      case 'load':
        facts.load = numbers().filter((n) => Number.isFinite(n));
        break;
      case 'memory': {
        const [total, used] = numbers();
        facts.memory = { totalBytes: total || 0, usedBytes: used || 0 };
        break;
      }
      case 'disk': {
        // size used available mount (the mount may hold spaces)
        const [size, used, available, ...mount] = value.split(' ');
        const [s, u, a] = [size, used, available].map(Number);
        if (![s, u, a].every(Number.isFinite) || !mount.length || facts.disks.some((d) => d.mount === mount.join(' '))) break;
        facts.disks.push({ mount: mount.join(' '), sizeBytes: s, usedBytes: u, usePercent: u + a > 0 ? Math.ceil((u * 100) / (u + a)) : 0 });
        break;
      }
      case 'accelerator': {
        const [vendor, model] = value.split('|');
        const known = facts.accelerators.find((x) => x.vendor === vendor && x.model === model);
        if (known) known.count += 1;
        else if (vendor && model) facts.accelerators.push({ vendor, model, count: 1 });
        break;
      }
    }
  }
  return facts;
}

/** The value a host metric takes on a reachable host's facts, and where it comes from. */
export function hostMetric(metric: Exclude<InspectionMetric, 'command' | 'nodesNotReady' | 'unreachable'>, facts: HostFacts): { value?: number; detail?: string } {
  switch (metric) {
    case 'diskUsePercent': {
      const fullest = [...facts.disks].sort((a, b) => b.usePercent - a.usePercent)[0];
      return fullest ? { value: fullest.usePercent, detail: fullest.mount } : {};
    }
    case 'memoryUsePercent':
      return facts.memory.totalBytes > 0 ? { value: round((facts.memory.usedBytes * 100) / facts.memory.totalBytes, 1) } : {};
    case 'loadPerCpu':
      return facts.cpus > 0 && facts.load.length ? { value: round(facts.load[0] / facts.cpus, 2), detail: `load ${facts.load[0]} on ${facts.cpus} CPUs` } : {};
  }
}

/** A value is alerting when beyond the inspection's threshold. */
export function judge(spec: Pick<InspectionSpec, 'alertAbove' | 'alertBelow'>, value: number | undefined): InspectionState {
  if (value === undefined) return 'unknown';
  if (spec.alertAbove !== undefined) return value > spec.alertAbove ? 'alerting' : 'normal';
  return value < (spec.alertBelow as number) ? 'alerting' : 'normal';
}

/** The number a command printed last, e.g. "3" or "97.5%"; undefined when the last line is no number. */
export function lastNumber(output: string): number | undefined {
  const last = output.trim().split('\n').pop()?.trim().replace(/%$/, '') ?? '';
  return /^-?\d+(\.\d+)?$/.test(last) ? Number(last) : undefined;
}

function round(n: number, digits: number): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}
