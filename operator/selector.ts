// Kubernetes label selector matching (matchLabels AND every matchExpression), as the apiserver defines it.

import type { RoutingPolicySpec } from '../api/routingPolicy.ts';

export type LabelSelector = RoutingPolicySpec['selector'];

export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In': if (!has || !(e.values ?? []).includes(labels[e.key]!)) return false; break;
      case 'NotIn': if (has && (e.values ?? []).includes(labels[e.key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
    }
  }
  return true;
}
