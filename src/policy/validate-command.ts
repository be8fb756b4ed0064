/**
 * `nomad-promoter validate PATH...`: every error as `file:line:col: message`; exit code 0 when
 * valid, 1 when not or when the paths hold no policy (the daemon would govern nothing), 2 without
 * paths (usage error).
 */
import { formatPolicyError, loadPolicies } from './load.js';

export async function runValidate(paths: string[], out: (line: string) => void): Promise<number> {
  if (paths.length === 0) {
    out('usage: nomad-promoter validate PATH... (policy files or directories)');
    return 2;
  }
  const result = await loadPolicies(paths);
  for (const e of result.errors) out(formatPolicyError(e));
  if (result.errors.length > 0) {
    const files = new Set(result.errors.map((e) => e.file)).size;
    out(`${result.errors.length} ${result.errors.length === 1 ? 'error' : 'errors'} in ${files} ${files === 1 ? 'file' : 'files'}`);
    return 1;
  }
  const n = result.policies.length;
  const fileCount = result.files?.length ?? 0;
  if (n === 0) {
    out(`no policy found in ${paths.join(', ')} (${fileCount} ${fileCount === 1 ? 'file' : 'files'}): the daemon would govern no deployment`);
    return 1;
  }
  out(`${n} ${n === 1 ? 'policy' : 'policies'} valid (${fileCount} ${fileCount === 1 ? 'file' : 'files'})`);
  return 0;
}
