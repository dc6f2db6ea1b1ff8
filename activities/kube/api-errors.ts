/** What the Kubernetes API said when a call failed, in one line. */
export function apiErrorMessage(e: unknown): string {
  const err = e as { code?: number; body?: unknown; message?: string };
  let body = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON: keep the text
    }
  }
  const message = typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : undefined;
  return message ?? (typeof body === 'string' && body ? body : err.message ?? String(e));
}

/** The HTTP status of a failed API call; undefined when the API was not reached at all. */
export function apiStatus(e: unknown): number | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}
