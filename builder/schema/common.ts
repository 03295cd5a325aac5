// Building blocks shared by every schema in the project (versions.yaml, recipes, the layer manifest, layers.json).
// Each schema is a TypeBox value: a plain JSON Schema object that ajv checks (builder/schema/validate.ts) and from
// which the TypeScript type is derived with Static<>, so the accepted shape and the compiler's view cannot drift.
// `description` on a constrained field is what error messages quote as "accepted": phrase it as the accepted form.
import { Type, type Static, type TSchema, type TString } from '@sinclair/typebox'

export { Type, type Static, type TSchema }

/** Lambda's two architectures, in the spelling Lambda and our manifests use. */
export const ARCHS = ['x86_64', 'arm64'] as const
export type Arch = (typeof ARCHS)[number]

/** `{ enum: [...] }` (ajv reports the accepted values in one line; a TypeBox union would report anyOf). */
export function stringEnum<const T extends readonly string[]>(values: T, description?: string) {
  return Type.Unsafe<T[number]>({ enum: [...values], ...(description ? { description } : {}) })
}

export const ArchSchema = stringEnum(ARCHS)

/** Services the smoke test can start on loopback for an extension's probe (builder/smoke/services.ts). */
export const PROBE_SERVICES = ['redis-server', 'memcached', 'rabbitmq-server'] as const
export type ProbeService = (typeof PROBE_SERVICES)[number]

/** An object with arbitrary keys (optionally constrained by a pattern) whose values all match `value`. */
export function recordOf<V extends TSchema>(value: V, keys?: { pattern: string; description: string }, opts: { minProperties?: number } = {}) {
  return Type.Unsafe<Record<string, Static<V>>>({
    type: 'object',
    ...(keys ? { propertyNames: { type: 'string', ...keys } } : {}),
    additionalProperties: value,
    ...opts,
  })
}

/** A closed object: unknown keys are errors that list the accepted keys. */
export const closed = { additionalProperties: false } as const

/** One value per architecture, both required. */
export function perArch<V extends TSchema>(value: V) {
  return Type.Object({ x86_64: value, arm64: value }, closed)
}

export const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$', description: '64 lowercase hex characters' })
export const GlibcVersion: TString = Type.String({ pattern: '^2\\.\\d+(\\.\\d+)?$', description: 'a glibc version like "2.34"' })
export const PhpVersion = Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+$', description: 'a PHP version like 8.2.32' })
export const PhpMinor = Type.String({ pattern: '^\\d+\\.\\d+$', description: 'a PHP minor like "8.3"' })
export const NonEmpty = Type.String({ minLength: 1 })
export const StringList = Type.Array(Type.String({ minLength: 1 }))
