// GET /v1/models: what this pod may ask for. Anthropic's SDK gets its own list shape.

import type { CompiledConfig } from '../config/compile.ts';

export function listModels(cfg: CompiledConfig, anthropicShape: boolean): unknown {
  const entries: { id: string; description: string }[] = [
    { id: 'auto', description: `default policy (${cfg.defaultPolicy.name})` },
    ...[...cfg.policies.values()].map((p) => ({ id: p.name, description: `policy, ${p.router.type} router` })),
    ...[...cfg.modelOwners.entries()].map(([m, p]) => ({ id: m, description: `model target of policy ${p.name}` })),
  ];
  if (anthropicShape) {
    const data = entries.map((e) => ({ type: 'model', id: e.id, display_name: e.description, created_at: '1970-01-01T00:00:00Z' }));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  }
  return { object: 'list', data: entries.map((e) => ({ id: e.id, object: 'model', created: 0, owned_by: 'triage' })) };
}
