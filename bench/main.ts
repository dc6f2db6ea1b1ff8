// Entry point of `npm run bench -- NAME [options]` (scripts/bench.sh runs the compiled dist/bench/main.js).
import { fanout } from './fanout';

const BENCHMARKS: Record<string, (argv: string[]) => Promise<number>> = { fanout };

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const bench = name ? BENCHMARKS[name] : undefined;
  if (!bench) {
    console.error(`usage: npm run bench -- NAME [options]; benchmarks: ${Object.keys(BENCHMARKS).join(', ')}`);
    return 2;
  }
  return bench(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`bench: ${e.stack ?? e.message}`);
    process.exit(1);
  },
);
