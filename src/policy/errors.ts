/** Load and validation errors, positioned in the YAML source (1-based line and column). */
export interface PolicyError {
  file: string;
  /** 0 when the error concerns the file as a whole (unreadable, missing). */
  line: number;
  column: number;
  message: string;
}

export interface PolicyLoadResult {
  policies: import('../domain/policy.js').Policy[];
  errors: PolicyError[];
  /** The policy files that were read, in load order. */
  files?: string[];
}

/** `file:line:column: message`, or `file: message` for errors about a whole file. */
export function formatPolicyError(e: PolicyError): string {
  return e.line > 0 ? `${e.file}:${e.line}:${e.column}: ${e.message}` : `${e.file}: ${e.message}`;
}
