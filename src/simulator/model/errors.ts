/** An error Nomad reports with an HTTP status and a bare text/plain message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** hashicorp/go-multierror's rendering, which Nomad returns verbatim. */
export function multiError(messages: string[]): string {
  const head = messages.length === 1 ? '1 error occurred:' : `${messages.length} errors occurred:`;
  return `${head}\n${messages.map((m) => `\t* ${m}`).join('\n')}\n\n`;
}

export const PERMISSION_DENIED = 'Permission denied';
