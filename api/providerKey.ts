// ProviderKey: one provider account — where to send, which credential, and static headers.

import { Type, type Static } from '@sinclair/typebox';
import { Obj, PROVIDER_TYPES, StringEnum, StringMap } from './common.ts';
import { rules } from './rules.ts';

const baseURLRule = {
  rule: "!(self.provider in ['azure-openai', 'openai-compatible']) || has(self.baseURL)",
  message: 'baseURL is required for azure-openai and openai-compatible providers', fieldPath: '.baseURL',
  check: (k: { provider: string; baseURL?: string }) => !['azure-openai', 'openai-compatible'].includes(k.provider) || k.baseURL !== undefined,
};

const providerKeyFields = {
  provider: StringEnum(PROVIDER_TYPES, { description: 'Wire protocol and auth scheme of the provider.' }),
  baseURL: Type.Optional(Type.String({
    description: 'Endpoint base URL. Required for azure-openai (https://RESOURCE.openai.azure.com) and openai-compatible; defaults to the public API otherwise.',
    pattern: '^https?://', maxLength: 2048,
  })),
  apiVersion: Type.Optional(Type.String({ description: 'API version query parameter (azure-openai only).', maxLength: 32 })),
  headers: Type.Optional(StringMap({ description: 'Extra static request headers (never credentials).', maxProperties: 16 })),
};

/** The ProviderKey CRD's spec. The credential comes from a Secret in the key's namespace. */
export const ProviderKeySpec = Obj({
  ...providerKeyFields,
  secretRef: Obj({
    name: Type.String({ description: 'Secret name, in this ProviderKey\'s namespace.', minLength: 1, maxLength: 253 }),
    key: Type.String({ description: 'Key within the Secret.', minLength: 1, maxLength: 253, default: 'apiKey' }),
  }, { description: 'Where the API key is stored.' }),
  allowedNamespaces: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), {
    description: 'Namespaces whose RoutingPolicies may use this key; "*" allows all. Default: this namespace only.',
    maxItems: 256,
  })),
}, {
  description: 'A provider account: endpoint, credential and who may use it.',
  ...rules(baseURLRule),
});
export type ProviderKeySpec = Static<typeof ProviderKeySpec>;

/** A ProviderKey as the sidecar holds it: named, with the credential inline. */
export const SidecarProviderKey = Obj({
  name: Type.String({ description: 'How models refer to this key (a namespace/name pair in operator-pushed config).', minLength: 1, maxLength: 253 }),
  ...providerKeyFields,
  apiKey: Type.String({ description: 'The credential, inline or as ${ENV_VAR} in a config file.', maxLength: 8192 }),
}, rules(baseURLRule));
export type SidecarProviderKey = Static<typeof SidecarProviderKey>;

