/**
 * `nomad-promoter promote|abort|retry|pause|resume ID`: a person's decision, sent to the running
 * daemon's action API, which carries it out; prints the decision record it answers with.
 */
import { userInfo } from 'node:os';
import type { HumanAction } from '../machine/human.js';
import { EXIT } from '../cli.js';
import { DaemonClient, encodeId, errorOf } from './daemon-client.js';

export async function actionCommand(action: HumanAction, id: string, flags: Record<string, string | boolean | undefined>): Promise<number> {
  const client = new DaemonClient(flags);
  const body = {
    who: (flags.who as string | undefined) ?? process.env.PROMOTER_USER ?? userInfo().username,
    ...(flags.group !== undefined ? { group: flags.group as string } : {}),
    ...(flags.reason !== undefined ? { reason: flags.reason as string } : {}),
  };
  const answer = await client.call('POST', `/v1/deployments/${encodeId(id)}/${action}`, body).catch((err: Error) => ({ status: 0, body: { error: err.message } }));
  if (answer.status !== 202) {
    process.stderr.write(`nomad-promoter ${action}: ${errorOf(answer)}\n`);
    return EXIT.invalid;
  }
  const r = answer.body as { action: string; groups: string[]; outcome: string; reason: string; message?: string; who?: string };
  process.stdout.write(`${r.action} ${r.groups.join(', ')}: ${r.outcome}${r.message ? ` (${r.message})` : ''}: ${r.reason} [by ${r.who ?? body.who}]\n`);
  return r.outcome === 'error' ? EXIT.invalid : EXIT.ok;
}
