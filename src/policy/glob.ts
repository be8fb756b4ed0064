/**
 * Globs over Nomad names (namespaces, jobs, groups, Meta values). Nomad names may hold `/` and
 * leading dots, so `*` matches any run of characters (bash-style) and dotfiles rules do not
 * apply. Unbalanced brackets, braces and parentheses are errors rather than literals, so a
 * typo is reported at load time instead of silently matching nothing.
 */
import picomatch from 'picomatch';

const OPTIONS: picomatch.PicomatchOptions = { bash: true, dot: true, strictBrackets: true };

export type GlobMatcher = (name: string) => boolean;

/** An error message when `glob` is not a usable glob, else undefined. */
export function checkGlob(glob: string): string | undefined {
  if (glob === '') return 'empty glob';
  try {
    picomatch.makeRe(glob, OPTIONS);
    return undefined;
  } catch (e) {
    const message = (e as Error).message;
    const missing = /^Missing closing: "(.)"/.exec(message);
    return missing ? `missing closing "${missing[1]}"` : message;
  }
}

/** A matcher for a glob already accepted by checkGlob. */
export function compileGlob(glob: string): GlobMatcher {
  // picomatch's `*` refuses the empty string; a bare `*` means "anything" here.
  if (glob === '*') return () => true;
  const re = picomatch.makeRe(glob, OPTIONS);
  return (name) => re.test(name);
}

/** True when any glob of the list matches `name`. */
export function compileGlobList(globs: readonly string[]): GlobMatcher {
  const matchers = globs.map(compileGlob);
  return (name) => matchers.some((m) => m(name));
}
