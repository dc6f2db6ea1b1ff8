import { parseDefinitions } from '../../model/load';
import { Catalog } from '../../model/catalog';
import { formatIssue } from '../../model/errors';
import { referenceIssues } from '../../model/references';
import { planSchedules } from '../../workers/schedule-plan';

function catalogOf(text: string): Catalog {
  const { resources, issues } = parseDefinitions(text, 'defs.yaml');
  if (issues.length) throw new Error(issues.map(formatIssue).join('\n'));
  return Catalog.from(resources.map((resource) => ({ resource })));
}

const DEFS = `
apiVersion: ops.dev/v1
kind: Cluster
metadata: { name: ai-eu }
spec: { kubeconfigRef: ai-eu, heartbeat: { every: 1m } }
---
apiVersion: ops.dev/v1
kind: Host
metadata: { name: web-1, labels: { role: web } }
spec: { address: 10.0.0.1, trustOnFirstUse: true }
---
apiVersion: ops.dev/v1
kind: Host
metadata: { name: gpu-1, labels: { role: gpu } }
spec: { address: 10.0.1.1, trustOnFirstUse: true, cluster: ai-eu }
---
apiVersion: ops.dev/v1
kind: Host
metadata: { name: gpu-2, labels: { role: gpu } }
spec: { address: 10.0.1.2, trustOnFirstUse: true, cluster: ai-eu, bastion: nowhere }
---
apiVersion: ops.dev/v1
kind: Task
metadata: { name: clean }
spec:
  targets: { selector: role=web }
  variables: [{ name: days, default: "7" }, { name: token, secret: true }]
  steps: [{ shell: "echo \${days}" }]
---
apiVersion: ops.dev/v1
kind: Schedule
metadata: { name: nightly-clean }
spec: { task: clean, cron: "0 3 * * *", timezone: Europe/Berlin, overlap: bufferOne, catchupWindow: 30m, variables: { days: 3 } }
---
apiVersion: ops.dev/v1
kind: Inspection
metadata: { name: gpu-disk }
spec: { cluster: ai-eu, metric: diskUsePercent, alertAbove: 85, every: 10m, targets: { selector: role=gpu } }
---
apiVersion: ops.dev/v1
kind: Inspection
metadata: { name: nodes }
spec: { cluster: ai-eu, metric: nodesNotReady, alertAbove: 0, cron: "*/5 * * * *" }
`;

describe('planSchedules', () => {
  const { schedules, problems } = planSchedules(catalogOf(DEFS));
  const byId = Object.fromEntries(schedules.map((s) => [s.options.scheduleId, s]));

  it('plans a heartbeat per cluster (local too) over its hosts, jittered, skipping overlaps, the first at once', () => {
    expect(Object.keys(byId).sort()).toEqual(['ops-heartbeat-ai-eu', 'ops-heartbeat-local', 'ops-inspection-gpu-disk', 'ops-inspection-nodes', 'ops-schedule-nightly-clean']);
    const beat = byId['ops-heartbeat-ai-eu'].options;
    expect(beat.spec).toEqual({ intervals: [{ every: 60_000 }], jitter: 6_000 });
    expect(beat.policies).toEqual({ overlap: 'SKIP', catchupWindow: 60_000 });
    expect(beat.state).toEqual({ triggerImmediately: true });
    expect(beat.action).toMatchObject({ workflowType: 'heartbeatRun', workflowId: 'heartbeat-ai-eu', taskQueue: 'ops.cluster.ai-eu', workflowExecutionTimeout: 600_000 });
    // gpu-2 names a bastion that does not exist: left out and reported, the rest still beat.
    expect(beat.action.args?.[0]).toMatchObject({ cluster: 'ai-eu', kubeconfigRef: 'ai-eu', hosts: [expect.objectContaining({ name: 'gpu-1', address: '10.0.1.1' })] });
    expect(problems.map((p) => `${p.of}: ${formatIssue(p.issue)}`)).toEqual([
      'Cluster/ai-eu: Host/gpu-2: spec.bastion: names Host "nowhere", which is not defined (defined: gpu-1, gpu-2, web-1)',
      'Inspection/gpu-disk: Host/gpu-2: spec.bastion: names Host "nowhere", which is not defined (defined: gpu-1, gpu-2, web-1)',
    ]);
    expect((byId['ops-heartbeat-local'].options.action.args?.[0] as { hosts: Array<{ name: string }> }).hosts.map((h) => h.name)).toEqual(['web-1']);
    expect(byId['ops-heartbeat-local'].options.spec).toEqual({ intervals: [{ every: 300_000 }], jitter: 30_000 });
  });

  it('plans inspections on their cluster: its hosts, or the cluster itself', () => {
    const disk = byId['ops-inspection-gpu-disk'].options;
    expect(disk.action).toMatchObject({ workflowType: 'inspectionRun', workflowId: 'inspection-gpu-disk', taskQueue: 'ops.cluster.ai-eu' });
    expect(disk.action.args?.[0]).toMatchObject({ inspection: 'gpu-disk', onCluster: false, hosts: [expect.objectContaining({ name: 'gpu-1' })] });
    const nodes = byId['ops-inspection-nodes'].options;
    expect(nodes.spec).toEqual({ cronExpressions: ['*/5 * * * *'], timezone: 'UTC' });
    expect(nodes.action.args?.[0]).toMatchObject({ onCluster: true, hosts: [] });
  });

  it('plans a user schedule as the run it starts, tagged with the schedule', () => {
    const nightly = byId['ops-schedule-nightly-clean'];
    expect(nightly.name).toBe('nightly-clean');
    expect(nightly.options.spec).toEqual({ cronExpressions: ['0 3 * * *'], timezone: 'Europe/Berlin' });
    expect(nightly.options.policies).toEqual({ overlap: 'BUFFER_ONE', catchupWindow: 1_800_000, pauseOnFailure: false });
    const { action } = nightly.options;
    expect(action).toMatchObject({ workflowType: 'taskRun', workflowId: 'nightly-clean', taskQueue: 'ops.cluster.local' });
    expect(action.args?.[0]).toMatchObject({ variables: { days: '3' }, origin: { trigger: 'schedule', requester: 'schedule:nightly-clean' }, hosts: [expect.objectContaining({ name: 'web-1' })] });
    const attributes = Object.fromEntries((action.typedSearchAttributes as Array<{ key: { name: string }; value: unknown }>).map((p) => [p.key.name, p.value]));
    expect(attributes).toEqual({ OpsTask: 'clean', OpsCluster: ['local'], OpsTrigger: 'schedule', OpsRequester: 'schedule:nightly-clean', OpsStatus: 'running', OpsSchedule: 'nightly-clean' });
  });

  it('refuses what cannot be planned, naming the field of the schedule: a missing pipeline, an unknown variable, a stored secret', () => {
    const catalog = catalogOf(DEFS);
    const schedule = (spec: string) => catalogOf(`${DEFS}---\napiVersion: ops.dev/v1\nkind: Schedule\nmetadata: { name: s }\nspec: ${spec}\n`).schedules.get('s');
    expect(referenceIssues(catalog, schedule('{ pipeline: nope, every: 1h }')!).map(formatIssue)).toEqual(['Schedule/s: spec.pipeline: names Pipeline "nope", which is not defined (no Pipeline is defined)']);
    expect(referenceIssues(catalog, schedule('{ task: clean, every: 1h, variables: { nope: x } }')!).map(formatIssue)).toEqual(['Schedule/s: spec.variables.nope: unknown variable (declared: days, token)']);
    expect(referenceIssues(catalog, schedule('{ task: clean, every: 1h, variables: { token: x } }')!).map(formatIssue)).toEqual(['Schedule/s: spec.variables.token: is a secret variable: a schedule cannot give it (it would keep it in clear)']);
    const planned = planSchedules(catalogOf(`${DEFS}---\napiVersion: ops.dev/v1\nkind: Schedule\nmetadata: { name: s }\nspec: { pipeline: nope, every: 1h }\n`));
    expect(planned.problems.map((p) => `${p.of}: ${formatIssue(p.issue)}`)).toContain('Schedule/s: Schedule/s: spec.pipeline: names Pipeline "nope", which is not defined (no Pipeline is defined)');
    expect(planned.schedules.map((p) => p.name)).not.toContain('s');
  });
});
