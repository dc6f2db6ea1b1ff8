import { stringify } from 'yaml';
import { CliError, ExitCode } from './exit-codes';

export type OutputFormat = 'text' | 'json' | 'yaml';

export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'text';
  if (value === 'json' || value === 'yaml') return value;
  throw new CliError(`-o ${value}: use json or yaml`, ExitCode.usage);
}

/** Machine-readable output goes to stdout alone, so `ops … -o json | jq` works. */
export function printData(format: Exclude<OutputFormat, 'text'>, data: unknown): void {
  process.stdout.write(format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : stringify(data));
}
