import { CliError, ExitCode } from './exit-codes';

export type OutputFormat = 'text' | 'json' | 'yaml';

export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'text';
  if (value === 'json' || value === 'yaml') return value;
  throw new CliError(`-o ${value}: use json or yaml`, ExitCode.usage);
}

/** Machine-readable output goes to stdout alone, so `ops … -o json | jq` works. */
export function printData(format: Exclude<OutputFormat, 'text'>, data: unknown): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : yaml().stringify(data));
}

/** Columns padded to their widest cell, for people; scripts use -o json. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : (cell ?? '').padEnd(widths[i]))).join('   ')}\n`);
}

/** `-o` for listings: a table, a wider table, or every field as json or yaml. */
export type ListFormat = 'table' | 'wide' | 'json' | 'yaml';

export function listFormat(value: string | undefined): ListFormat {
  if (value === undefined) return 'table';
  if (value === 'wide' || value === 'json' || value === 'yaml') return value;
  throw new CliError(`-o ${value}: use wide, json or yaml`, ExitCode.usage);
}

export function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 120_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 60_000)}m`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)}${units[unit]}`;
}

/** The YAML library, loaded when a command first needs it: `ops run` does not, and it costs ~35 ms to load. */
export function yaml(): typeof import('yaml') {
  return require('yaml') as typeof import('yaml');
}
