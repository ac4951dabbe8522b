// host:port parsing shared by both commands (kept tiny: the operator imports it without the sidecar).

export class AddressError extends Error {}

export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(s);
  if (!m) throw new AddressError(`invalid address "${s}": expected host:port`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
