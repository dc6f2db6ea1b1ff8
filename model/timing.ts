/**
 * When periodic work runs (user schedules, inspections, heartbeats): a cron expression in a time
 * zone, or a fixed interval. Both become the spec of a Temporal Schedule.
 */

/**
 * How often a step reports that it is alive, and how long Temporal waits for a report before it
 * gives the attempt up. A cancel reaches a step with a heartbeat's answer. The timeout allows
 * several late reports: cancelling a 300-host run makes the server answer heartbeats many seconds
 * late, and an attempt given up for that leaves its step running on the host (the next attempt
 * would follow it, but a cancelled run makes none).
 */
export const STEP_HEARTBEAT_MS = 8_000;
export const STEP_HEARTBEAT_TIMEOUT_MS = 30_000;

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** "90s", "5m", "1h30m", "7d" → seconds; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m || text === '') return undefined;
  const [d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0));
  return ((d * 24 + h) * 60 + min) * 60 + s;
}

const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const CRON_FIELDS: Array<{ name: string; min: number; max: number; names?: string[] }> = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 7, names: DAYS },
];

/** Why a standard five-field cron expression (or a macro such as @daily) is wrong; undefined when it is right. */
export function cronProblem(expression: string): string | undefined {
  const text = expression.trim();
  if (text.startsWith('@')) return CRON_MACROS.includes(text) ? undefined : `unknown macro ${text} (use one of ${CRON_MACROS.join(', ')})`;
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return `needs 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  for (const [i, field] of fields.entries()) {
    const spec = CRON_FIELDS[i];
    for (const part of field.split(',')) {
      const problem = cronPartProblem(part, spec);
      if (problem) return `${spec.name} "${field}": ${problem}`;
    }
  }
  return undefined;
}

function cronPartProblem(part: string, spec: (typeof CRON_FIELDS)[number]): string | undefined {
  const [range, step, extra] = part.split('/');
  if (extra !== undefined || (step !== undefined && !/^[1-9]\d*$/.test(step))) return `bad step in "${part}"`;
  if (range === '*') return undefined;
  const value = (v: string): number | undefined => {
    const named = spec.names?.indexOf(v.toUpperCase()) ?? -1;
    if (named >= 0) return named + spec.min;
    return /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const ends = range.split('-');
  if (ends.length > 2) return `bad range "${range}"`;
  const values = ends.map(value);
  if (values.some((v) => v === undefined || v < spec.min || v > spec.max)) return `"${range}" is outside ${spec.min}-${spec.max}`;
  if (values.length === 2 && (values[0] as number) > (values[1] as number)) return `range "${range}" runs backwards`;
  return undefined;
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export interface Timing {
  cron?: string;
  every?: string;
  timezone?: string;
  jitter?: string;
}

/** Issues for a spec holding timingFields: exactly one of cron or every; a time zone only with cron. */
export function timingIssues(t: Timing): Array<{ path: string[]; message: string }> {
  const issues: Array<{ path: string[]; message: string }> = [];
  if ((t.cron === undefined) === (t.every === undefined)) issues.push({ path: ['cron'], message: 'give exactly one of cron (e.g. "0 3 * * *") or every (e.g. "6h")' });
  if (t.timezone !== undefined && t.every !== undefined) issues.push({ path: ['timezone'], message: 'a time zone applies to cron only' });
  return issues;
}
