// Types of the field table that scripts/gen-schema.cjs generates from proto/
// (api/gen/schema.ts). The Kubernetes-JSON codec walks this table.

export type ScalarKind = 'string' | 'bool' | 'int32' | 'int64' | 'double' | 'bytes';

export type ValueType = { readonly kind: ScalarKind } | { readonly kind: 'message'; readonly type: string };

export type FieldSchema = {
  /** Property name in the generated TypeScript type. */
  readonly name: string;
  /** Field name in the JSON/YAML form (Kubernetes' camelCase). */
  readonly json: string;
  /** proto3 `optional`: presence is tracked, so zero values are kept. */
  readonly optional?: boolean;
  readonly repeated?: boolean;
} & ({ readonly kind: ScalarKind } | { readonly kind: 'message'; readonly type: string } | { readonly kind: 'map'; readonly value: ValueType });

export type MessageSchema = Readonly<Record<string, FieldSchema>>;
