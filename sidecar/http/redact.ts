// Scrubs credentials from text that came from upstream (error messages can echo a key back).

const KEY_PATTERNS = /\b(sk-[A-Za-z0-9_*-]{8,}|sk-ant-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,})\b/g;

export function redact(text: string, secret?: string): string {
  let out = secret && secret.length >= 4 ? text.split(secret).join('[redacted]') : text;
  out = out.replace(KEY_PATTERNS, '[redacted]');
  return out;
}
