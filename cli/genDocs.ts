// Renders docs/configuration.md's field reference from the contract's descriptions and defaults, so the
// reference cannot drift from what is validated. `make crds` regenerates it; a unit test checks it.

import type { TSchema } from '@sinclair/typebox';
import { ProviderKeySpec, SidecarProviderKey } from '../api/providerKey.ts';
import { RoutingPolicySpec, SidecarPolicy } from '../api/routingPolicy.ts';

interface Row { path: string; type: string; def: string; doc: string }

function typeOf(s: TSchema): string {
  if (s.enum) return (s.enum as string[]).map((v) => `\`${v}\``).join(' \\| ');
  if (s.type === 'array') return `[]${typeOf(s.items as TSchema)}`;
  if (s.type === 'object' && typeof s.additionalProperties === 'object') return 'map[string]string';
  return String(s.type ?? 'any');
}

function rows(schema: TSchema, at: string, out: Row[] = []): Row[] {
  const props = (schema.type === 'array' ? (schema.items as TSchema).properties : schema.properties) as Record<string, TSchema> | undefined;
  if (!props) return out;
  const required = new Set<string>((schema.type === 'array' ? (schema.items as TSchema).required : schema.required) ?? []);
  for (const [name, s] of Object.entries(props)) {
    const path = at ? `${at}${schema.type === 'array' ? '[]' : ''}.${name}` : name;
    const def = s.default === undefined ? (required.has(name) ? 'required' : '') : `\`${JSON.stringify(s.default)}\``;
    const limits = [s.minimum !== undefined && `min ${s.minimum}`, s.maximum !== undefined && `max ${s.maximum}`, s.maxItems !== undefined && `≤ ${s.maxItems} items`].filter(Boolean).join(', ');
    out.push({ path, type: typeOf(s), def, doc: [s.description ?? '', limits && `(${limits})`].filter(Boolean).join(' ') });
    if (s.properties || (s.type === 'array' && (s.items as TSchema).properties)) rows(s, path, out);
  }
  return out;
}

function rules(schema: TSchema, at: string, out: string[] = []): string[] {
  for (const r of (schema['x-kubernetes-validations'] ?? []) as { message: string }[]) out.push(`- \`${at || 'spec'}\`: ${r.message}`);
  const props = (schema.type === 'array' ? (schema.items as TSchema).properties : schema.properties) as Record<string, TSchema> | undefined;
  for (const [name, s] of Object.entries(props ?? {})) rules(s, at ? `${at}.${name}` : name, out);
  return [...new Set(out)];
}

function table(schema: TSchema): string {
  const head = '| field | type | default | description |\n| --- | --- | --- | --- |\n';
  return head + rows(schema, '').map((r) => `| \`${r.path}\` | ${r.type} | ${r.def} | ${r.doc.replace(/\|/g, '\\|')} |`).join('\n') + '\n';
}

export function renderConfigReference(): string {
  return `<!-- Generated from api/ by \`make crds\`. Do not edit; edit the descriptions in api/ instead. -->
# Configuration reference

The sidecar's config file and the CRDs share one contract (\`api/\`). A standalone file holds
\`providerKeys\` (a ProviderKey spec plus \`name\`, with \`apiKey\` inline or as \`\${ENV_VAR}\`) and
\`policies\` (a RoutingPolicy spec plus \`name\`, without \`selector\`). Unknown fields are errors in a
file; the apiserver prunes them from CRs. Durations are Go-style (\`250ms\`, \`1m30s\`).

## File: \`providerKeys[]\`

${table(SidecarProviderKey)}
## File: \`policies[]\`

${table(SidecarPolicy)}
## CRD: ProviderKey \`spec\` (triage.dev/v1alpha1)

${table(ProviderKeySpec)}
## CRD: RoutingPolicy \`spec\` (triage.dev/v1alpha1)

${table(RoutingPolicySpec)}
## Cross-field rules

Enforced by the apiserver (CEL) for CRs and by the sidecar for files, from the same definitions in \`api/\`:

${[...rules(ProviderKeySpec, ''), ...rules(RoutingPolicySpec, '')].join('\n')}

Also checked for files: provider key and policy names are unique, and every deployment's \`providerKey\`
names a key in the file.
`;
}
