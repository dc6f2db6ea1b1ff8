import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** Ops' own version, from package.json: two levels above dist/workers/, one above workers/. */
export function opsVersion(): string {
  for (const up of [['..', '..'], ['..']]) {
    try {
      return (JSON.parse(readFileSync(resolve(__dirname, ...up, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      // not there: try the next
    }
  }
  return '0.0.0';
}
