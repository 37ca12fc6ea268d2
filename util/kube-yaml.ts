// The YAML schema Kubernetes manifests are read with. kubectl parses YAML with
// go-yaml's YAML 1.1 rules, where an integer with a leading zero is octal:
// `defaultMode: 0644` is 420 (rw-r--r--), the way every Kubernetes example and
// most users write file modes. YAML 1.2's core schema (js-yaml's default)
// would read it as decimal 644, an invalid mode, or worse a different valid
// one (`0400` as 400 = 0o620). Everything else stays the core schema: YAML
// 1.1's yes/no booleans and base-60 numbers are not taken.

import { CORE_SCHEMA, defineScalarTag, intCoreTag, Schema } from 'js-yaml';

const LEGACY_OCTAL = /^([-+]?)0([0-7]+)$/;

const kubeIntTag = defineScalarTag('tag:yaml.org,2002:int', {
  implicit: true,
  implicitFirstChars: ['-', '+', ...'0123456789'],
  resolve: (source: string, isExplicit: boolean, tagName: string) => {
    const m = LEGACY_OCTAL.exec(source);
    if (m) return (m[1] === '-' ? -1 : 1) * parseInt(m[2] ?? '0', 8);
    return intCoreTag.resolve(source, isExplicit, tagName);
  },
  identify: intCoreTag.identify,
  represent: intCoreTag.represent,
});

export const KUBE_YAML_SCHEMA = new Schema(CORE_SCHEMA.tags.map((tag) => (tag === intCoreTag ? kubeIntTag : tag)));
