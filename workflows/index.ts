/** The workflow types workers register. Deterministic code only: all I/O is in activities/. */
export { pipelineRun } from './pipeline-run';
export { taskRun, hostGroupRun } from './task-run';
export { heartbeatRun } from './heartbeat-run';
export { inspectionRun } from './inspection-run';
