import type { Command } from 'commander';
import { configFrom } from '../context';
import { outputFormat, printData, printTable } from '../output';
import { CliError, ExitCode } from '../exit-codes';

/** The payload codec's key ring ($OPS_DATA_DIR/codec-keys.json): rotate, activate, list. Key material is never printed. */
export function codecCommands(program: Command): void {
  const codec = program.command('codec').description('the keys that encrypt run payloads in Temporal (OPS_CODEC_KEYS_FILE)');
  codec
    .command('rotate')
    .description('add a new key and make it the active one; older keys stay, so older runs stay readable')
    .option('--inactive', 'only add it (so it can be copied to every machine first); activate it later with "ops codec activate ID"')
    .action(async (opts: { inactive?: boolean }, command: Command) => {
      const file = configFrom(command).codecKeysFile;
      const { addKey } = await import('../../workers/codec');
      const id = keyFileCall(() => addKey(file, { activate: !opts.inactive }));
      console.log(`key ${id} added to ${file}${opts.inactive ? ' (not active yet)' : ' and active: new payloads use it'}`);
    });
  codec
    .command('activate <id>')
    .description('make a key of the ring the one new payloads are encrypted with')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const file = configFrom(command).codecKeysFile;
      const { activateKey } = await import('../../workers/codec');
      keyFileCall(() => activateKey(file, id));
      console.log(`key ${id} is active in ${file}`);
    });
  codec
    .command('keys')
    .description('the key ids of the ring, and which one is active')
    .option('-o, --output <format>', 'json or yaml')
    .action(async (opts: { output?: string }, command: Command) => {
      const format = outputFormat(opts.output);
      const file = configFrom(command).codecKeysFile;
      const { loadKeyRing } = await import('../../workers/codec');
      const ring = keyFileCall(() => loadKeyRing(file, { create: false }));
      const ids = Object.keys(ring.keys);
      if (format !== 'text') return printData(format, { items: ids.map((id) => ({ id, active: id === ring.active })) });
      printTable(['KEY', 'ACTIVE'], ids.map((id) => [id, id === ring.active ? 'yes' : '']));
    });
}

/** A missing or broken key file, or an unknown key id, is the caller's to fix. */
function keyFileCall<T>(work: () => T): T {
  try {
    return work();
  } catch (e) {
    throw new CliError((e as Error).message, ExitCode.usage);
  }
}
