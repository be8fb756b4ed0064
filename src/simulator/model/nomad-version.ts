/**
 * The Nomad release the simulator answers as, where releases behave differently. Versions are
 * `MAJOR.MINOR.PATCH` (an optional leading `v` and any `-suffix` are ignored).
 */
export const DEFAULT_NOMAD_VERSION = '2.0.1';

export interface NomadBehaviour {
  /**
   * 2.0.1 and later: pause and resume restart RequireProgressBy of every group, and a paused
   * deployment never fails by its progress deadline. Before, neither.
   */
  pauseHoldsProgressDeadline: boolean;
}

function parseVersion(version: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/.exec(version);
  if (!m) throw new Error(`simulator option nomadVersion: ${JSON.stringify(version)} is not a MAJOR.MINOR.PATCH version`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function atLeast(v: [number, number, number], min: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) {
    if ((v[i] as number) !== min[i]) return (v[i] as number) > (min[i] as number);
  }
  return true;
}

export function nomadBehaviour(version: string = DEFAULT_NOMAD_VERSION): NomadBehaviour {
  const v = parseVersion(version);
  return { pauseHoldsProgressDeadline: atLeast(v, [2, 0, 1]) };
}
