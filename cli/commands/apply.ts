import type { Command } from 'commander';
import { loadResources, type LoadedResource } from '../../model/load';
import { KIND_PLURALS, kindFromPlural, type Kind, type Resource } from '../../model/resources';
import { collect } from '../context';
import { encode, requireServer } from '../api-client';
import { CliError, ExitCode } from '../exit-codes';

// What a definition names is applied before it: the server checks those references.
const APPLY_ORDER: Kind[] = ['Cluster', 'Host', 'Task', 'Pipeline', 'Inspection', 'Schedule', 'EventHook'];
const WORD: Record<string, string> = { created: 'created', updated: 'configured', unchanged: 'unchanged' };

/** Clusters and hosts before the tasks and pipelines that name them, and a jump host before the hosts behind it. */
function applyOrder(loaded: LoadedResource[]): LoadedResource[] {
  const hosts = new Map(loaded.flatMap(({ resource }) => (resource.kind === 'Host' ? [[resource.metadata.name, resource]] : [])));
  const jumps = (resource: Resource, seen = new Set<string>()): number => {
    const jump = resource.kind === 'Host' && resource.spec.bastion ? hosts.get(resource.spec.bastion) : undefined;
    // A loop is the server's to refuse; it only must not loop here.
    if (!jump || seen.has(jump.metadata.name)) return 0;
    return 1 + jumps(jump, seen.add(resource.metadata.name));
  };
  return [...loaded].sort((a, b) => APPLY_ORDER.indexOf(a.resource.kind) - APPLY_ORDER.indexOf(b.resource.kind) || jumps(a.resource) - jumps(b.resource));
}

export function applyCommands(program: Command): void {
  program
    .command('apply')
    .description('create or replace definitions on the Ops server from files or directories')
    .requiredOption('-f, --filename <path>', 'definition file or directory (repeatable)', collect)
    .action(async (opts: { filename: string[] }, command: Command) => {
      const api = requireServer(command);
      // Checked here first, so a typo is reported with its file and line before anything changes.
      const loaded = loadResources(opts.filename);
      // As kubectl: applying nothing is a wrong path or an empty directory, not a success.
      if (!loaded.length) throw new CliError(`no definitions in ${opts.filename.join(', ')}`, ExitCode.usage);
      const ordered = applyOrder(loaded);
      let failure: CliError | undefined;
      for (const { resource, file } of ordered) {
        const path = `/api/v1/${KIND_PLURALS[resource.kind]}/${encode(resource.metadata.name)}`;
        try {
          const { headers } = await api.request<Resource>('PUT', path, resource);
          console.log(`${resource.kind.toLowerCase()}/${resource.metadata.name} ${WORD[headers.get('ops-outcome') ?? ''] ?? 'applied'}`);
        } catch (e) {
          if (!(e instanceof CliError) || e.exitCode === ExitCode.auth || e.exitCode === ExitCode.unavailable) throw e;
          console.error(`${file}: ${resource.kind}/${resource.metadata.name}: ${e.message}`);
          failure ??= e;
        }
      }
      if (failure) process.exitCode = failure.exitCode;
    });

  program
    .command('delete')
    .description('delete a definition from the Ops server: ops delete host|cluster|task|pipeline|schedule|inspection|eventhook NAME')
    .argument('<kind>')
    .argument('<name>')
    .action(async (kindName: string, name: string, _opts: unknown, command: Command) => {
      const kind = kindFromPlural(kindName);
      if (!kind) throw new CliError(`unknown kind "${kindName}": use host, cluster, task, pipeline, schedule, inspection or eventhook`, ExitCode.usage);
      await requireServer(command).request('DELETE', `/api/v1/${KIND_PLURALS[kind]}/${encode(name)}`);
      console.log(`${kind.toLowerCase()}/${name} deleted`);
    });
}
