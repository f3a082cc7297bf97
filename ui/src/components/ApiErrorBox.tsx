// An API error as the API worded it (`detail`), with the HTTP status.

import type { ApiError } from "../api";

export function ApiErrorBox({ error, testid = "api-error" }: { error?: ApiError; testid?: string }) {
  if (!error) return null;
  return (
    <div className="error" data-testid={testid} role="alert">
      {error.status ? <strong>HTTP {error.status}: </strong> : null}
      {error.detail}
    </div>
  );
}
