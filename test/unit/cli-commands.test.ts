/**
 * The CLI loads only the module of the verb it runs (cli/main.ts): the table of verbs must name
 * exactly the commands each module adds, or a verb would be missing when run on its own.
 */
import { buildProgram, COMMANDS, verbOf } from '../../cli/main';

const names = async (verb?: string) => (await buildProgram(verb)).commands.map((c) => c.name()).sort();

describe('the CLI command table', () => {
  it.each(COMMANDS.map((c) => [c.verbs.join(', '), c.verbs]))('each verb of %s loads the module that adds exactly those commands', async (_, verbs) => {
    for (const verb of verbs as string[]) expect(await names(verb)).toEqual([...(verbs as string[])].sort());
  });

  it('without a known verb (help, flags first, a typo) every command is there, each once', async () => {
    const all = COMMANDS.flatMap((c) => c.verbs).sort();
    expect(new Set(all).size).toBe(all.length);
    for (const argv2 of [undefined, '--help', '--address', 'runn']) expect(await names(argv2)).toEqual(all);
  });

  it('finds the verb after the global options, so only its module loads', () => {
    const verb = (...args: string[]) => verbOf(['node', 'ops', ...args]);
    expect(verb('run', '-f', 'x.yaml')).toBe('run');
    expect(verb('--address', '127.0.0.1:7233', 'run', '-f', 'x.yaml')).toBe('run');
    expect(verb('--address=127.0.0.1:7233', '--nats', 'off', 'logs', 'r1')).toBe('logs');
    expect(verb('--namespace', 'run', 'get', 'runs')).toBe('get'); // a value that looks like a verb is still a value
    expect(verb('--help')).toBeUndefined();
    expect(verb('--address', 'x:1', '--help')).toBeUndefined();
    expect(verb('--bogus', 'run')).toBeUndefined();
    expect(verb()).toBeUndefined();
  });
});
