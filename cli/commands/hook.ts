import type { Command } from 'commander';
import type { ParkedEvent } from '../../api/store/parked-events';
import { encode, requireServer } from '../api-client';
import { age, outputFormat, printData, printTable } from '../output';

/** `ops hook …`: the events an EventHook parked after its last attempt, replayed or discarded. */
export function hookCommands(program: Command): void {
  const hook = program.command('hook').description("an EventHook's parked events (those it could not deliver): list, replay, discard");
  const base = (name: string) => `/api/v1/eventhooks/${encode(name)}`;

  hook
    .command('parked <hook>')
    .description('events the hook gave up on, with the last error')
    .option('-o, --output <format>', 'json or yaml')
    .action(async (name: string, opts: { output?: string }, command: Command) => {
      const format = outputFormat(opts.output);
      const { items } = await requireServer(command).get<{ items: ParkedEvent[] }>(`${base(name)}/parked`);
      if (format !== 'text') return printData(format, items);
      printTable(['ID', 'EVENT', 'SUBJECT', 'ATTEMPTS', 'PARKED', 'ERROR'], items.map((p) => [p.id, p.eventId, p.subject, String(p.attempts), age(p.parkedAt), p.error]));
    });

  hook
    .command('replay <hook> [id]')
    .description('deliver parked events again, now (all of the hook, or one): delivered ones leave the list')
    .action(async (name: string, id: string | undefined, _opts: unknown, command: Command) => {
      const api = requireServer(command);
      if (id) {
        const { body } = await api.request<{ delivered: boolean; result: string }>('POST', `${base(name)}/parked/${encode(id)}/replay`);
        console.log(`parked event ${id}: ${body.delivered ? 'delivered' : 'failed again'}: ${body.result}`);
        if (!body.delivered) process.exitCode = 1;
        return;
      }
      const { body } = await api.request<{ delivered: number; failed: number; items: Array<{ id: string; delivered: boolean; result: string }> }>('POST', `${base(name)}/replay`);
      for (const r of body.items) console.log(`parked event ${r.id}: ${r.delivered ? 'delivered' : 'failed again'}: ${r.result}`);
      console.log(`${body.delivered} delivered, ${body.failed} still parked`);
      if (body.failed) process.exitCode = 1;
    });

  hook
    .command('discard <hook> <id>')
    .description('drop a parked event without delivering it')
    .action(async (name: string, id: string, _opts: unknown, command: Command) => {
      await requireServer(command).request('DELETE', `${base(name)}/parked/${encode(id)}`);
      console.log(`parked event ${id} discarded`);
    });
}
