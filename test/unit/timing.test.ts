import { cronProblem, parseDuration, STEP_HEARTBEAT_MS, STEP_HEARTBEAT_TIMEOUT_MS } from '../../model/timing';
import { parseDefinitions } from '../../model/load';
import { formatIssue } from '../../model/errors';

const problems = (text: string) => parseDefinitions(text, 'defs.yaml').issues.map(formatIssue);

describe('durations and cron expressions', () => {
  it('reads d, h, m and s in order', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('7d')).toBe(7 * 86400);
    for (const bad of ['', '5', '1m1h', '1.5h', 'five minutes']) expect(parseDuration(bad)).toBeUndefined();
  });

  it('accepts standard five-field expressions and macros, naming the wrong field', () => {
    for (const ok of ['0 3 * * *', '*/15 * * * *', '0 2 * * MON-FRI', '30 4 1,15 JAN-JUN 0', '@daily', '0 0-23/2 * * 7']) expect([ok, cronProblem(ok)]).toEqual([ok, undefined]);
    expect(cronProblem('0 3 * *')).toBe('needs 5 fields (minute hour day-of-month month day-of-week), got 4');
    expect(cronProblem('0 24 * * *')).toBe('hour "24": "24" is outside 0-23');
    expect(cronProblem('0 3 * * FUNDAY')).toBe('day of week "FUNDAY": "FUNDAY" is outside 0-7');
    expect(cronProblem('*/0 * * * *')).toBe('minute "*/0": bad step in "*/0"');
    expect(cronProblem('@sometimes')).toMatch(/^unknown macro @sometimes/);
  });
});

describe('Schedule, Inspection and EventHook definitions', () => {
  const doc = (kind: string, spec: string) => `apiVersion: ops.dev/v1\nkind: ${kind}\nmetadata: { name: x }\nspec:\n${spec}`;

  it('a schedule runs one pipeline or task, by cron (with a zone) or interval', () => {
    const { resources, issues } = parseDefinitions(doc('Schedule', '  pipeline: node-health\n  cron: "0 3 * * *"\n  timezone: Europe/Berlin\n'));
    expect(issues).toEqual([]);
    expect(resources[0].spec).toMatchObject({ overlap: 'skip', catchupWindow: '1h', pauseOnFailure: false, variables: {} });
    expect(problems(doc('Schedule', '  pipeline: a\n  task: b\n  every: 5m\n  timezone: UTC\n'))).toEqual([
      'defs.yaml:5: Schedule/x: spec.pipeline: give exactly one of pipeline or task',
      'defs.yaml:8: Schedule/x: spec.timezone: a time zone applies to cron only',
    ]);
    expect(problems(doc('Schedule', '  task: b\n  cron: "0 3 * *"\n  timezone: Mars/Olympus\n  overlap: sometimes\n'))).toEqual([
      expect.stringContaining('spec.cron: needs 5 fields'),
      expect.stringContaining('spec.timezone: must be an IANA time zone'),
      expect.stringContaining('spec.overlap: Invalid option'),
    ]);
  });

  it('an inspection names one threshold, and a command only with metric command', () => {
    expect(problems(doc('Inspection', '  metric: diskUsePercent\n  alertAbove: 85\n  every: 10m\n'))).toEqual([]);
    expect(problems(doc('Inspection', '  metric: command\n  alertAbove: 1\n  alertBelow: 0\n  every: 10m\n'))).toEqual([
      expect.stringContaining('spec.alertAbove: give exactly one of alertAbove or alertBelow'),
      expect.stringContaining('spec.command: is required with metric "command", and only then'),
    ]);
    expect(problems(doc('Inspection', '  metric: nodesNotReady\n  alertAbove: 0\n  every: 10m\n  targets: { all: true }\n'))).toEqual([expect.stringContaining('spec.targets: metric "nodesNotReady" measures the cluster itself')]);
  });

  it('a hook selects events within the events stream and takes values from them', () => {
    expect(problems(doc('EventHook', '  subject: ops.clusters.*.inspections.disk.>\n  match: [{ field: data.state, equals: alerting }]\n  run: { task: clean, hosts: ["${data.target}"] }\n'))).toEqual([]);
    expect(problems(doc('EventHook', '  subject: other.>\n  publish: { subject: alerts.disk }\n'))).toEqual([expect.stringContaining('spec.subject: must lie within the event subjects ops.clusters.>, ops.approvals.>')]);
    expect(problems(doc('EventHook', '  subject: ops.clusters.>\n  publish: { subject: ops.clusters.x.y }\n'))).toEqual([expect.stringContaining('it would deliver its own events forever')]);
    expect(problems(doc('EventHook', '  subject: ops.clusters.>\n  run: { pipeline: p, variables: { host: "${host}" } }\n'))).toEqual([expect.stringContaining('"${host}" is not a field of the event')]);
    expect(problems(doc('EventHook', '  subject: ops.clusters.>\n  webhook: { url: "ftp://x" }\n  match: [{ field: data.state, equals: a, regex: b }]\n'))).toEqual([
      expect.stringContaining('spec.match[0]: give exactly one of equals, contains or regex'),
      expect.stringContaining('spec.webhook.url: must be an http(s) URL'),
    ]);
  });
});

test('a step survives several late heartbeats before Temporal gives its attempt up', () => {
  // 10 s against heartbeats every 8 s: cancelling a 300-host run delayed them past it, and the
  // attempts given up left their steps running on the hosts.
  expect(STEP_HEARTBEAT_TIMEOUT_MS).toBeGreaterThanOrEqual(3 * STEP_HEARTBEAT_MS);
});
