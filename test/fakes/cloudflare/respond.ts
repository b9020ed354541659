/** How the fake answers over HTTP: JSON (or raw) bodies with Cloudflare-like headers, error envelopes. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export function envelopeError(errors: Array<{ code: number; message: string }>): Record<string, unknown> {
  return { success: false, errors, messages: [], result: null };
}

export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const type =
    lower['content-type'] ??
    (typeof body === 'string' && /^\s*</.test(body) ? 'text/html; charset=UTF-8' : 'application/json');
  res.writeHead(status, {
    ...lower,
    'content-type': type,
    'content-length': String(Buffer.byteLength(text)),
    'cf-ray': '0000000000000000-FAKE',
  });
  res.end(text);
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
