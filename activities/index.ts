import { runShellStep } from './shell-step';
import { runFileStep } from './file-step';
import type { ActivityDeps, StepInput } from './step-input';

export type { StepInput, ActivityDeps } from './step-input';

/** The activities a cluster worker registers; `connection: local` hosts go through the same ones. */
export function createActivities(deps: ActivityDeps) {
  return {
    sshShell: (input: StepInput) => runShellStep(deps, input),
    sshFile: (input: StepInput) => runFileStep(deps, input),
  };
}

export type Activities = ReturnType<typeof createActivities>;
