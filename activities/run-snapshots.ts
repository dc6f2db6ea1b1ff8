import type { TaskRunInput } from '../model/run';

/** A workflow execution: its workflow id and Temporal run id. */
export interface Execution {
  workflowId: string;
  runId: string;
}

/** Reads the input an execution started with (the first event of its history). */
export type SnapshotReader = (execution: Execution) => Promise<TaskRunInput>;

/** Runs whose snapshots a worker keeps; a fan-out's steps all ask within seconds of each other. */
const KEPT = 64;

/**
 * The frozen task, variables and secret names of the task runs this worker serves steps of, read
 * once per run from Temporal. Steps are sent only their host and step name: a task run's snapshot
 * copied into every step of a 250-host fan-out made its workflow task completion larger than
 * Temporal accepts (4 MB) once the variables or the script passed 16 KB, and filled its history.
 */
export class RunSnapshots {
  private readonly kept = new Map<string, Promise<TaskRunInput>>();

  constructor(private readonly read: SnapshotReader) {}

  get(execution: Execution): Promise<TaskRunInput> {
    const key = `${execution.workflowId}/${execution.runId}`;
    const known = this.kept.get(key);
    if (known) return known;
    const reading = this.read(execution);
    this.kept.set(key, reading);
    // A failed read is not kept: the step's retry reads again.
    reading.catch(() => this.kept.delete(key));
    if (this.kept.size > KEPT) this.kept.delete(this.kept.keys().next().value as string);
    return reading;
  }
}
