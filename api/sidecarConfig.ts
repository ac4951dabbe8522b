// The sidecar's whole configuration: what a standalone YAML file holds and what the operator pushes.

import { Type, type Static } from '@sinclair/typebox';
import { Obj } from './common.ts';
import { SidecarProviderKey } from './providerKey.ts';
import { SidecarPolicy } from './routingPolicy.ts';

export const SidecarConfig = Obj({
  version: Type.Optional(Type.String({ description: 'Content hash set by the operator; computed for files.', maxLength: 128 })),
  providerKeys: Type.Array(SidecarProviderKey, { description: 'Provider accounts.', maxItems: 256 }),
  policies: Type.Array(SidecarPolicy, { description: 'Routing policies; the first is the default for model "auto".', minItems: 1, maxItems: 256 }),
});
export type SidecarConfig = Static<typeof SidecarConfig>;
