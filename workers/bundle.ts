import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { BannerPlugin, type Configuration } from 'webpack';

/** Where `npm run build` leaves the workflow bundle, so workers start without bundling. */
export const WORKFLOW_BUNDLE = resolve(__dirname, '..', 'workflow-bundle.js');
export const WORKFLOWS_PATH = resolve(__dirname, '..', 'workflows');
export const FAILURE_CONVERTER_PATH = resolve(__dirname, 'failure-converter');

/**
 * The SDK records a stack for every promise a workflow makes (Temporal Web's stack trace view) and
 * looks each frame up in the bundle's source map: with V8's ten frames, a 200-host task spent
 * ~0.12 s of its first workflow task on it, before any host started. Three frames keep the
 * innermost workflow frame of each pending promise (the first two are the SDK's hook) and the top
 * of a thrown error's stack. Set as the bundle starts, before the SDK freezes the sandbox's globals.
 */
const WORKFLOW_STACK_FRAMES = 3;

export function limitWorkflowStacks(config: Configuration): Configuration {
  const banner = new BannerPlugin({ banner: `Error.stackTraceLimit = ${WORKFLOW_STACK_FRAMES};`, raw: true, entryOnly: true });
  return { ...config, plugins: [...(config.plugins ?? []), banner] };
}

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    webpackConfigHook: limitWorkflowStacks,
    logger: quietLogger,
  });
  writeFileSync(WORKFLOW_BUNDLE, code);
  console.log(`workflow bundle written to ${WORKFLOW_BUNDLE} (${Math.round(code.length / 1024)} KiB)`);
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
