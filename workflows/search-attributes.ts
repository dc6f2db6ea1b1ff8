import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes on every run, so Temporal Web and `ops get runs` can filter the same way. */
export const OpsPipeline = defineSearchAttributeKey('OpsPipeline', SearchAttributeType.KEYWORD);
export const OpsTask = defineSearchAttributeKey('OpsTask', SearchAttributeType.KEYWORD);
export const OpsCluster = defineSearchAttributeKey('OpsCluster', SearchAttributeType.KEYWORD_LIST);
export const OpsTrigger = defineSearchAttributeKey('OpsTrigger', SearchAttributeType.KEYWORD);
export const OpsRequester = defineSearchAttributeKey('OpsRequester', SearchAttributeType.KEYWORD);
export const OpsStatus = defineSearchAttributeKey('OpsStatus', SearchAttributeType.KEYWORD);
/** The schedule that started a run: a user schedule's name, `heartbeat-<cluster>` or `inspection-<name>`. */
export const OpsSchedule = defineSearchAttributeKey('OpsSchedule', SearchAttributeType.KEYWORD);

export const OPS_SEARCH_ATTRIBUTES = [OpsPipeline, OpsTask, OpsCluster, OpsTrigger, OpsRequester, OpsStatus, OpsSchedule];

/** OpsStatus while a pipeline run waits for a person's decision (otherwise a RunStatus). */
export const AWAITING_APPROVAL = 'awaitingApproval';
