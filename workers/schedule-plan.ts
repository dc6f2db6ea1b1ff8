/**
 * The Temporal Schedules the definitions call for: a heartbeat per cluster, one per Inspection and
 * one per Schedule, each with the frozen input its runs start from (re-planned whenever a
 * definition changes; api/schedule-reconciler.ts keeps Temporal in step).
 */
import type { ScheduleOptions, ScheduleOptionsStartWorkflowAction, ScheduleSpec } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { Catalog } from '../model/catalog';
import { heartbeatTiming, type Cluster } from '../model/cluster';
import { ValidationError, type Issue } from '../model/errors';
import { isClusterMetric, type Inspection } from '../model/inspection';
import { clusterTaskQueue, heartbeatScheduleId, heartbeatScheduleName, inspectionScheduleId, inspectionScheduleName, userScheduleId } from '../model/naming';
import { selectHosts, toHostTarget } from '../model/plan';
import { planScheduledRun } from '../model/references';
import type { HostTarget } from '../model/run';
import type { Host } from '../model/host';
import type { Schedule } from '../model/schedule';
import { parseDuration, type Timing } from '../model/timing';
import { OpsCluster, OpsSchedule, OpsTrigger } from '../workflows/search-attributes';
import { pipelineRunStart, taskRunStart } from './runs';

export type ScheduleKind = 'heartbeat' | 'inspection' | 'schedule';

export interface PlannedSchedule {
  /** The OpsSchedule search attribute of its runs: a Schedule's name, heartbeat-<cluster> or inspection-<name>. */
  name: string;
  kind: ScheduleKind;
  options: ScheduleOptions<ScheduleOptionsStartWorkflowAction<Workflow>>;
}

/** Built-in schedules skip a run that would overlap the last, and do not catch up on missed ones. */
const BUILT_IN_POLICIES = { overlap: 'SKIP' as const, catchupWindow: 60_000 };
/** A heartbeat or inspection no worker picked up is given up after twice its interval (at least ten minutes). */
const minTimeoutMs = 10 * 60_000;

/** Why a definition's schedule could not be planned (it then has none), or left a host out. */
export interface ScheduleProblem {
  /** The definition whose schedule it concerns: `Cluster/x` (its heartbeat), `Inspection/x`, `Schedule/x`. */
  of: string;
  issue: Issue;
}

export function planSchedules(catalog: Catalog): { schedules: PlannedSchedule[]; problems: ScheduleProblem[] } {
  const schedules: PlannedSchedule[] = [];
  const problems: ScheduleProblem[] = [];
  const attempt = (of: string, plan: (report: (issues: Issue[]) => void) => PlannedSchedule) => {
    const report = (issues: Issue[]) => problems.push(...issues.map((issue) => ({ of, issue: { ...issue, document: issue.document ?? of } })));
    try {
      schedules.push(plan(report));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      report(e.issues);
    }
  };
  for (const cluster of catalog.clusters.values()) attempt(`Cluster/${cluster.metadata.name}`, (report) => heartbeatSchedule(catalog, cluster, report));
  for (const inspection of catalog.inspections.values()) attempt(`Inspection/${inspection.metadata.name}`, (report) => inspectionSchedule(catalog, inspection, report));
  for (const schedule of catalog.schedules.values()) attempt(`Schedule/${schedule.metadata.name}`, () => userSchedule(catalog, schedule));
  return { schedules, problems };
}

type Report = (issues: Issue[]) => void;

function heartbeatSchedule(catalog: Catalog, cluster: Cluster, report: Report): PlannedSchedule {
  const name = cluster.metadata.name;
  const { everySeconds, jitterSeconds } = heartbeatTiming(cluster);
  const hosts = hostsOf(catalog, [...catalog.hosts.values()].filter((h) => h.spec.cluster === name).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)), report);
  return {
    name: heartbeatScheduleName(name),
    kind: 'heartbeat',
    options: {
      scheduleId: heartbeatScheduleId(name),
      spec: { intervals: [{ every: everySeconds * 1000 }], jitter: jitterSeconds * 1000 },
      action: {
        type: 'startWorkflow',
        workflowType: 'heartbeatRun',
        workflowId: heartbeatScheduleName(name),
        taskQueue: clusterTaskQueue(name),
        args: [{ cluster: name, hosts, ...(cluster.spec.kubeconfigRef ? { kubeconfigRef: cluster.spec.kubeconfigRef } : {}) }],
        typedSearchAttributes: builtInAttributes(name, heartbeatScheduleName(name)),
        workflowExecutionTimeout: Math.max(2 * everySeconds * 1000, minTimeoutMs),
        staticSummary: `heartbeat of cluster ${name} (${hosts.length} host(s))`,
      },
      policies: BUILT_IN_POLICIES,
      // The first beat comes at once, so a new cluster's state is known without waiting an interval.
      state: { triggerImmediately: true },
    },
  };
}

function inspectionSchedule(catalog: Catalog, inspection: Inspection, report: Report): PlannedSchedule {
  const { name } = inspection.metadata;
  const { spec } = inspection;
  const document = `Inspection/${name}`;
  const cluster = catalog.clusters.get(spec.cluster);
  if (!cluster) throw new ValidationError([{ document, path: 'spec.cluster', message: `names Cluster "${spec.cluster}", which is not defined` }]);
  const onCluster = isClusterMetric(spec.metric);
  let hosts: HostTarget[] = [];
  if (!onCluster) {
    const selected = selectHosts(catalog, spec.targets ?? { all: true }, { document, path: 'spec.targets' });
    if (selected.issues.length) throw new ValidationError(selected.issues);
    hosts = hostsOf(catalog, selected.hosts.filter((h) => h.spec.cluster === spec.cluster), report);
  }
  const scheduleName = inspectionScheduleName(name);
  return {
    name: scheduleName,
    kind: 'inspection',
    options: {
      scheduleId: inspectionScheduleId(name),
      spec: timingSpec(spec),
      action: {
        type: 'startWorkflow',
        workflowType: 'inspectionRun',
        workflowId: scheduleName,
        taskQueue: clusterTaskQueue(spec.cluster),
        args: [{ inspection: name, cluster: spec.cluster, spec, hosts, onCluster, ...(cluster.spec.kubeconfigRef ? { kubeconfigRef: cluster.spec.kubeconfigRef } : {}) }],
        typedSearchAttributes: builtInAttributes(spec.cluster, scheduleName),
        workflowExecutionTimeout: Math.max(2 * intervalMs(spec), minTimeoutMs),
        staticSummary: `inspection ${name}: ${spec.metric} on ${onCluster ? `cluster ${spec.cluster}` : `${hosts.length} host(s)`}`,
      },
      policies: BUILT_IN_POLICIES,
      // The first verdicts come at once, not an interval after the inspection was applied.
      state: { triggerImmediately: true },
    },
  };
}

function userSchedule(catalog: Catalog, schedule: Schedule): PlannedSchedule {
  const { name } = schedule.metadata;
  const { spec } = schedule;
  const input = planScheduledRun(catalog, schedule);
  const start = 'pipeline' in input ? pipelineRunStart(input, name) : taskRunStart(input, name);
  return {
    name,
    kind: 'schedule',
    options: {
      scheduleId: userScheduleId(name),
      spec: timingSpec(spec),
      action: { type: 'startWorkflow', workflowId: name, args: [input], ...start },
      policies: { overlap: OVERLAP[spec.overlap], catchupWindow: (parseDuration(spec.catchupWindow) as number) * 1000, pauseOnFailure: spec.pauseOnFailure },
    },
  };
}

const OVERLAP = {
  skip: 'SKIP',
  bufferOne: 'BUFFER_ONE',
  bufferAll: 'BUFFER_ALL',
  cancelOther: 'CANCEL_OTHER',
  terminateOther: 'TERMINATE_OTHER',
  allowAll: 'ALLOW_ALL',
} as const;

function timingSpec(t: Timing): ScheduleSpec {
  const jitter = t.jitter ? { jitter: (parseDuration(t.jitter) as number) * 1000 } : {};
  if (t.cron) return { cronExpressions: [t.cron], timezone: t.timezone ?? 'UTC', ...jitter };
  return { intervals: [{ every: intervalMs(t) }], ...jitter };
}

/** The interval of an `every` timing; a day for a cron (its timeouts only need an upper bound). */
function intervalMs(t: Timing): number {
  return t.every ? (parseDuration(t.every) as number) * 1000 : 24 * 3600_000;
}

/** Hosts that cannot be reached as defined (a missing bastion) are left out and reported, not the whole schedule. */
function hostsOf(catalog: Catalog, hosts: Host[], report: Report): HostTarget[] {
  return hosts.flatMap((h) => {
    try {
      return [toHostTarget(catalog, h)];
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      report(e.issues);
      return [];
    }
  });
}

function builtInAttributes(cluster: string, schedule: string) {
  return [
    { key: OpsCluster, value: [cluster] },
    { key: OpsTrigger, value: 'schedule' },
    { key: OpsSchedule, value: schedule },
  ];
}
