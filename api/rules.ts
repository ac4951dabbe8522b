// Cross-field rules, written once: the CEL text goes into the CRD (enforced by the apiserver at apply
// time), and the TypeScript predicate beside it enforces the same rule on standalone config files.
// test/unit/api checks both agree on samples; the integration tests check the apiserver does.

export interface Rule<T = any> {
  rule: string;
  message: string;
  fieldPath?: string;
  check: (self: T) => boolean;
}

export function rules<T>(...list: Rule<T>[]): { 'x-kubernetes-validations': Rule<T>[] } {
  return { 'x-kubernetes-validations': list };
}
