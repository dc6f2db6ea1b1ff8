import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** Where `npm run build` leaves the workflow bundle, so workers start without bundling. */
export const WORKFLOW_BUNDLE = resolve(__dirname, '..', 'workflow-bundle.js');
export const WORKFLOWS_PATH = resolve(__dirname, '..', 'workflows');
export const FAILURE_CONVERTER_PATH = resolve(__dirname, 'failure-converter');

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, logger: quietLogger });
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
