/** Request bodies, decoded like Nomad's decodeBody (400 `Request body is empty`, Go-like JSON errors). */
import type { IncomingMessage } from 'node:http';

import { ApiError } from '../model/errors.js';

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Go encoding/json's message for the commonest malformed bodies. */
function goJsonError(text: string): string {
  const trimmed = text.trimStart();
  if (trimmed === '') return 'EOF';
  const first = trimmed[0] as string;
  if (!/[[{"\-0-9tfn]/.test(first)) return `invalid character '${first}' looking for beginning of value`;
  const literal = { t: 'true', f: 'false', n: 'null' }[first];
  if (literal) {
    for (let i = 1; i < literal.length && i < trimmed.length; i++) {
      if (trimmed[i] !== literal[i]) return `invalid character '${trimmed[i]}' in literal ${literal} (expecting '${literal[i]}')`;
    }
  }
  return 'unexpected EOF';
}

/** Decodes a JSON request body; an empty body is Nomad's 400 `Request body is empty`. */
export async function decodeBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.length === 0) throw new ApiError(400, 'Request body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, goJsonError(text));
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ApiError(400, `json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go value of type struct`);
  }
  return value as Record<string, unknown>;
}

export function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}
