/** The columns `ops get KIND` shows for each kind of definition, from what the server answers (definition and status). */
import type { Kind, Resource } from '../model/resources';
import type { ClusterStatus, HostStatus, InspectionResult } from '../model/facts';
import type { ClusterWorkerStatus } from '../workers/cluster-workers';
import type { ScheduleState } from '../workers/schedules';
import { LOCAL_HOST_ADDRESS } from '../model/naming';
import { age, bytes } from './output';

type Columns = (wide: boolean) => { header: string[]; row: (r: Resource) => string[] };
type Of<K extends Kind> = Extract<Resource, { kind: K }>;

const labelsOf = (r: Resource) => Object.entries(r.metadata.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
const statusOf = <T>(r: Resource) => (r as { status?: T }).status;
const timing = (s: { cron?: string; every?: string; timezone?: string }) => (s.cron ? `cron ${s.cron}${s.timezone ? ` ${s.timezone}` : ''}` : `every ${s.every}`);

/** A host's last heartbeat: its facts when reachable, why not when it is not. */
function hostFacts(status: HostStatus | undefined): string[] {
  const f = status?.facts;
  const seen = status?.observedAt ? age(status.observedAt) : '';
  if (!f) return [seen, '', '', '', '', '', '', '', '', status?.reason ?? ''];
  const memory = `${bytes(f.memory.usedBytes)}/${bytes(f.memory.totalBytes)}`;
  const disks = f.disks.map((d) => `${d.mount}:${d.usePercent}%`).join(',');
  const accelerators = f.accelerators.map((a) => `${a.count}x ${a.vendor} ${a.model}`).join(',');
  return [seen, f.distribution, f.kernel, f.architecture, String(f.cpus), f.load.join(' '), memory, disks, accelerators, ''];
}

function kubernetes(heartbeat: ClusterStatus | undefined): string[] {
  const k = heartbeat?.kubernetes;
  const hosts = heartbeat ? `${heartbeat.hosts.reachable}/${heartbeat.hosts.reachable + heartbeat.hosts.unreachable}` : '';
  if (!k) return [hosts, '', '', '', heartbeat?.reason ?? ''];
  return [hosts, k.version, `${k.nodes.ready}/${k.nodes.total}`, `${k.pods.running}/${k.pods.total}`, ''];
}

function scheduled(state: (Partial<ScheduleState> & { scheduled?: boolean; problems?: string[] }) | undefined): { state: string; next: string; last: string } {
  if (!state?.scheduled) return { state: state?.problems?.length ? 'not scheduled' : '?', next: '', last: '' };
  const last = state.recentRuns?.[state.recentRuns.length - 1];
  return { state: state.paused ? 'paused' : 'active', next: state.nextRuns?.[0] ?? '', last: last ? `${last.runId} (${age(last.startedAt)} ago)` : '' };
}

export const COLUMNS: Record<Kind, Columns> = {
  Host: (wide) => ({
    header: ['NAME', 'ADDRESS', 'CLUSTER', 'STATE', 'LABELS', ...(wide ? ['SEEN', 'OS', 'KERNEL', 'ARCH', 'CPUS', 'LOAD', 'MEMORY', 'DISKS', 'ACCELERATORS', 'REASON', 'PORT', 'USER', 'CREDENTIAL', 'VERSION'] : [])],
    row: (r) => {
      const s = (r as Of<'Host'>).spec;
      const status = statusOf<HostStatus>(r);
      return [r.metadata.name, s.address ?? LOCAL_HOST_ADDRESS, s.cluster, status?.state ?? 'unknown', labelsOf(r), ...(wide ? [...hostFacts(status), String(s.port), s.username ?? '', s.credentialRef ?? '', r.metadata.resourceVersion ?? ''] : [])];
    },
  }),
  Cluster: (wide) => ({
    header: ['NAME', 'WORKERS', 'DESCRIPTION', 'LABELS', ...(wide ? ['HOSTS UP', 'KUBERNETES', 'NODES READY', 'PODS RUNNING', 'REASON', 'WORKER IDENTITIES', 'WORKER VERSIONS', 'KUBECONFIG', 'VERSION'] : [])],
    row: (r) => {
      const s = (r as Of<'Cluster'>).spec;
      // The server adds the task queue's pollers and the last heartbeat as status (api/routes/clusters.ts).
      const status = statusOf<ClusterWorkerStatus & { heartbeat?: ClusterStatus }>(r);
      const workers = !status ? '?' : status.workers.length ? String(status.workers.length) : 'none';
      const identities = (status?.workers ?? []).map((w) => w.identity).join(',');
      const versions = [...new Set((status?.workers ?? []).flatMap((w) => (w.version ? [w.version] : [])))].join(',');
      return [r.metadata.name, workers, s.description ?? '', labelsOf(r), ...(wide ? [...kubernetes(status?.heartbeat), identities, versions, s.kubeconfigRef ?? '', r.metadata.resourceVersion ?? ''] : [])];
    },
  }),
  Task: (wide) => ({
    header: ['NAME', 'STEPS', 'TARGETS', 'VARIABLES', ...(wide ? ['DESCRIPTION', 'VERSION'] : [])],
    row: (r) => {
      const s = (r as Of<'Task'>).spec;
      const t = s.targets;
      const targets = !t ? '' : t.all ? 'all' : t.hosts ? t.hosts.join(',') : typeof t.selector === 'string' ? t.selector : JSON.stringify(t.selector);
      return [r.metadata.name, String(s.steps.length), targets, s.variables.map((v) => v.name).join(','), ...(wide ? [s.description ?? '', r.metadata.resourceVersion ?? ''] : [])];
    },
  }),
  Pipeline: (wide) => ({
    header: ['NAME', 'STAGES', 'VARIABLES', ...(wide ? ['FINALLY', 'VERSION'] : [])],
    row: (r) => {
      const s = (r as Of<'Pipeline'>).spec;
      return [r.metadata.name, s.stages.map((x) => x.name).join(' → '), s.variables.map((v) => v.name).join(','), ...(wide ? [s.finally.map((x) => x.name).join(','), r.metadata.resourceVersion ?? ''] : [])];
    },
  }),
  Schedule: (wide) => ({
    header: ['NAME', 'RUNS', 'WHEN', 'STATE', 'NEXT', 'LAST RUN', ...(wide ? ['OVERLAP', 'CATCH-UP', 'VARIABLES', 'NOTE', 'PROBLEMS'] : [])],
    row: (r) => {
      const s = (r as Of<'Schedule'>).spec;
      const status = statusOf<Partial<ScheduleState> & { scheduled?: boolean; problems?: string[] }>(r);
      const { state, next, last } = scheduled(status);
      const vars = Object.entries(s.variables).map(([k, v]) => `${k}=${v}`).join(' ');
      return [r.metadata.name, s.pipeline ? `pipeline ${s.pipeline}` : `task ${s.task}`, timing(s), state, next, last, ...(wide ? [s.overlap, s.catchupWindow, vars, status?.note ?? '', (status?.problems ?? []).join('; ')] : [])];
    },
  }),
  Inspection: (wide) => ({
    header: ['NAME', 'CLUSTER', 'METRIC', 'ALERT', 'WHEN', 'ALERTING', ...(wide ? ['STATE', 'LAST RUN', 'VALUES', 'PROBLEMS'] : [])],
    row: (r) => {
      const s = (r as Of<'Inspection'>).spec;
      const status = statusOf<Partial<ScheduleState> & { scheduled?: boolean; problems?: string[]; results?: InspectionResult[] }>(r);
      const results = status?.results ?? [];
      const alerting = results.filter((x) => x.state === 'alerting');
      const alert = s.alertAbove !== undefined ? `> ${s.alertAbove}` : `< ${s.alertBelow}`;
      const values = results.map((x) => `${x.target}=${x.value ?? '?'}${x.state === 'alerting' ? '!' : ''}`).join(',');
      const { state, last } = scheduled(status);
      return [r.metadata.name, s.cluster, s.metric, alert, timing(s), results.length ? `${alerting.length}/${results.length}${alerting.length ? ` (${alerting.map((x) => x.target).join(',')})` : ''}` : '', ...(wide ? [state, last, values, (status?.problems ?? []).join('; ')] : [])];
    },
  }),
  EventHook: (wide) => ({
    header: ['NAME', 'SUBJECT', 'ACTION', 'PENDING', 'PARKED', ...(wide ? ['MATCH', 'ATTEMPTS', 'DELIVERING'] : [])],
    row: (r) => {
      const s = (r as Of<'EventHook'>).spec;
      const status = statusOf<{ parked?: number; pending?: number; delivering?: number }>(r);
      const action = s.webhook ? `webhook ${s.webhook.url}` : s.publish ? `publish ${s.publish.subject}` : `run ${s.run?.pipeline ? `pipeline ${s.run.pipeline}` : `task ${s.run?.task}`}`;
      const match = s.match.map((m) => `${m.field}${m.equals !== undefined ? `=${m.equals}` : m.contains !== undefined ? `~${m.contains}` : ` =~ /${m.regex}/`}`).join(',');
      return [r.metadata.name, s.subject, action, String(status?.pending ?? '?'), String(status?.parked ?? '?'), ...(wide ? [match, String(s.retry.maxAttempts), String(status?.delivering ?? '?')] : [])];
    },
  }),
};
