import { subjectMatches, subjectWithin } from '../../model/subjects';
import { matchesEvent, renderFromEvent, type CloudEvent } from '../../model/event-match';
import { backoffMs } from '../../model/event-hook';
import { TemplateError } from '../../model/template';

const EVENT: CloudEvent = {
  specversion: '1.0',
  id: 'inspection-disk-2025/host-1',
  source: '/ops/workers/w1',
  type: 'dev.ops.inspection.alerting',
  subject: 'ops.clusters.local.inspections.disk.host-1',
  time: '2025-01-01T00:00:00.000Z',
  data: { state: 'alerting', value: 92, target: 'host-1', threshold: { above: 85 }, detail: '/var' },
};

describe('subjects', () => {
  it('match patterns with * and >', () => {
    expect(subjectMatches('ops.clusters.*.hosts.*.status', 'ops.clusters.east.hosts.web-1.status')).toBe(true);
    expect(subjectMatches('ops.clusters.*.hosts.*.status', 'ops.clusters.east.hosts.web-1.status.x')).toBe(false);
    expect(subjectMatches('ops.clusters.>', 'ops.clusters')).toBe(false);
    expect(subjectMatches('ops.clusters.>', 'ops.clusters.a.b')).toBe(true);
  });

  it('know when one pattern lies within another', () => {
    expect(subjectWithin('ops.clusters.*.inspections.>', 'ops.clusters.>')).toBe(true);
    expect(subjectWithin('ops.>', 'ops.clusters.>')).toBe(false);
    expect(subjectWithin('ops.*.x', 'ops.clusters.>')).toBe(false);
    expect(subjectWithin('ops.approvals.r1.pending', 'ops.approvals.>')).toBe(true);
  });
});

describe('matching and reading events', () => {
  it('holds when every condition does; a missing field never matches', () => {
    expect(matchesEvent([{ field: 'data.state', equals: 'alerting' }, { field: 'type', contains: 'inspection' }, { field: 'data.target', regex: '^host-[0-9]+$' }], EVENT)).toBe(true);
    expect(matchesEvent([{ field: 'data.value', equals: '92' }, { field: 'data.threshold.above', equals: '85' }], EVENT)).toBe(true);
    expect(matchesEvent([{ field: 'data.state', equals: 'normal' }], EVENT)).toBe(false);
    expect(matchesEvent([{ field: 'data.nope', contains: '' }], EVENT)).toBe(false);
    expect(matchesEvent([], EVENT)).toBe(true);
  });

  it('renders run variables from the event, refusing what it lacks', () => {
    expect(renderFromEvent('${data.target}:${data.detail} (${data.value}%) $${HOME}', EVENT)).toBe('host-1:/var (92%) ${HOME}');
    expect(() => renderFromEvent('${data.mount}', EVENT)).toThrow(TemplateError);
  });

  it('backs off exponentially up to the maximum', () => {
    const retry = { maxAttempts: 10, backoffSeconds: 2, maxBackoffSeconds: 30 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(retry, a))).toEqual([2000, 4000, 8000, 16000, 30000, 30000]);
  });
});
