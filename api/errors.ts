import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { WorkflowNotFoundError } from '@temporalio/common';
import { ValidationError, type Issue } from '../model/errors';
import { SelectorError } from '../model/selector';
import { zodIssues } from '../model/resources';
import { ConflictError } from './store/definitions';
import { TokenNameTaken } from './store/tokens';
import { ApprovalRefusal } from '../model/approval';
import { ApprovalRefused } from '../workers/approvals';
import { RunEndedError } from '../workers/runs';

/** A refused decision: not this token's to take (403), not now (409), no such stage (404), no worker took it in time (503). */
const APPROVAL_STATUS: Record<ApprovalRefused['type'], number> = {
  [ApprovalRefusal.NotAllowed]: 403,
  [ApprovalRefusal.AlreadyVoted]: 409,
  [ApprovalRefusal.Decided]: 409,
  [ApprovalRefusal.NotPending]: 409,
  [ApprovalRefusal.UnknownStage]: 404,
  [ApprovalRefusal.Expired]: 503,
  NoWorker: 503,
};

/** An error that already knows its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A body of another type than JSON was read as no body at all ("body.task: is required"): it is refused as what it is. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  next(hasBody && !req.is('application/json') ? new HttpError(415, `the body must be JSON sent with Content-Type: application/json (it came as ${req.get('content-type') ?? 'no type'})`) : undefined);
};

/** Parses a request part with a schema; a mismatch is a 400 naming each field and reason. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issues = zodIssues(parsed.error, undefined, [where]);
  throw new HttpError(400, `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}

export function sendError(res: Response, status: number, message: string, issues?: Issue[]): void {
  res.locals.errorMessage = message;
  res.status(status).json({
    error: STATUS_CODES[status] ?? 'Error',
    message,
    ...(issues?.length ? { issues: issues.map(({ document, path, message: m }) => ({ ...(document ? { document } : {}), path, message: m })) } : {}),
  });
}

/** Maps what handlers throw to a status and a message that names the field and the reason. */
export function errorHandler(log: (message: string) => void): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const e = err as Error & { type?: string; status?: number };
    if (e instanceof HttpError) return sendError(res, e.status, e.message, e.issues);
    if (e instanceof ValidationError) return sendError(res, 422, `invalid: ${e.issues.length} problem(s): ${e.message.split('\n')[0]}`, e.issues);
    if (e instanceof SelectorError) return sendError(res, 400, `labelSelector: ${e.message}`, [{ path: 'labelSelector', message: e.message }]);
    if (e instanceof ConflictError || e instanceof TokenNameTaken || e instanceof RunEndedError) return sendError(res, 409, e.message);
    if (e instanceof WorkflowNotFoundError) return sendError(res, 404, e.message || `no run ${e.workflowId}`);
    if (e instanceof ApprovalRefused) return sendError(res, APPROVAL_STATUS[e.type], e.message);
    if (e.type === 'entity.parse.failed') return sendError(res, 400, `the body is not valid JSON: ${e.message}`);
    if (e.type === 'entity.too.large') return sendError(res, 413, e.message);
    log(`error: ${e.stack ?? e.message}`);
    return sendError(res, 500, `internal error: ${e.message}`);
  };
}
