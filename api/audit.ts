import type { RequestHandler } from 'express';
import type { AuditLog } from './store/audit';
import { principalOf } from './auth';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Sets what the audit log says a call did, e.g. `start pipeline node-health`, `Host/web-1`. */
export function auditAs(res: { locals: Record<string, unknown> }, action: string, resource?: string): void {
  res.locals.auditAction = action;
  if (resource) res.locals.auditResource = resource;
}

/** The same, from the URL alone, placed before the role check so refused calls say what they tried. */
export function audited(describe: (params: Record<string, string>) => [action: string, resource?: string]): RequestHandler {
  return (req, res, next) => {
    auditAs(res, ...describe(req.params as Record<string, string>));
    next();
  };
}

/** Records every mutating call once it is answered: allowed, refused or failed. */
export function auditTrail(audit: AuditLog): RequestHandler {
  return (req, res, next) => {
    if (!MUTATING.has(req.method)) return next();
    res.once('finish', () => {
      const principal = principalOf(res);
      const status = res.statusCode;
      audit.record({
        actor: principal?.name ?? (req.get('authorization') ? 'invalid-token' : 'anonymous'),
        role: principal?.role,
        method: req.method,
        path: req.originalUrl.split('?')[0],
        action: String(res.locals.auditAction ?? `${req.method} ${req.originalUrl.split('?')[0]}`),
        resource: res.locals.auditResource as string | undefined,
        status,
        outcome: status < 400 ? 'succeeded' : status === 401 || status === 403 ? 'refused' : 'failed',
        message: res.locals.errorMessage as string | undefined,
        remote: req.socket.remoteAddress,
      });
    });
    next();
  };
}
