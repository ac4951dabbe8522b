// Applies RFC 6902 `add`/`replace` operations, as the apiserver does with a webhook's patch. Tests only.

export function applyPatch<T>(doc: T, ops: { op: string; path: string; value: unknown }[]): T {
  const out = structuredClone(doc) as unknown;
  for (const { op, path, value } of ops) {
    const segs = path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segs.pop()!;
    let parent = out as Record<string, unknown> | unknown[];
    for (const s of segs) parent = (Array.isArray(parent) ? parent[Number(s)] : parent[s]) as typeof parent;
    if (parent === undefined) throw new Error(`path ${path}: parent does not exist`);
    if (Array.isArray(parent)) {
      if (last === '-') parent.push(value);
      else if (op === 'add') parent.splice(Number(last), 0, value);
      else parent[Number(last)] = value;
    } else parent[last] = value;
  }
  return out as T;
}
