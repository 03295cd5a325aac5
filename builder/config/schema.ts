// JSON Schemas for versions.yaml and recipes/php.yaml. `description` on a constrained field is what the error
// message quotes as "accepted", so keep it phrased as the accepted form.

const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$', description: '64 lowercase hex characters' }
const fingerprint = { type: 'string', pattern: '^[0-9A-F]{40}$', description: '40 uppercase hex characters' }
const httpsUrl = { type: 'string', pattern: '^https://\\S+$', description: 'an https:// URL' }
const phpVersion = { type: 'string', pattern: '^8\\.\\d+\\.\\d+$', description: 'a PHP version like 8.2.32' }
const glibc = { type: 'string', pattern: '^2\\.\\d+(\\.\\d+)?$', description: 'a glibc version like "2.34"' }
const stringList = { type: 'array', items: { type: 'string', minLength: 1 } }
const archKeys = ['x86_64', 'arm64']
const perArch = (value: object) => ({
  type: 'object',
  additionalProperties: false,
  required: archKeys,
  properties: Object.fromEntries(archKeys.map((a) => [a, value])),
})

export const versionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['schema', 'base', 'archs', 'layer', 'extensions', 'regions', 'php'],
  properties: {
    schema: { const: 1, description: '1' },
    base: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'image', 'runtime', 'glibc', 'libraries', 'gconvModules', 'notOnLambdaHost'],
      properties: {
        name: { type: 'string', minLength: 1 },
        image: { type: 'string', minLength: 1 },
        runtime: { type: 'string', minLength: 1 },
        glibc,
        libraries: perArch({ type: 'string', minLength: 1 }),
        gconvModules: stringList,
        notOnLambdaHost: stringList,
      },
    },
    archs: perArch({
      type: 'object',
      additionalProperties: false,
      required: ['gnuTriplet', 'debianArch', 'dockerPlatform', 'elfMachine', 'glibcBaseline'],
      properties: {
        gnuTriplet: { type: 'string' },
        debianArch: { type: 'string' },
        dockerPlatform: { type: 'string' },
        elfMachine: { type: 'integer' },
        glibcBaseline: { type: 'string', pattern: '^2\\.\\d+(\\.\\d+)?$', description: 'a glibc version like "2.17"' },
      },
    }),
    layer: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'prefix', 'license'],
      properties: {
        name: { type: 'string', pattern: '\\{major\\}', description: 'a template using {prefix}, {major}, {minor}' },
        prefix: perArch({ type: 'string', pattern: '^[a-z0-9-]*$', description: 'lowercase letters, digits, -' }),
        license: { type: 'string', maxLength: 512, description: 'at most 512 characters (Lambda LicenseInfo)' },
      },
    },
    extensions: {
      type: 'object',
      additionalProperties: false,
      required: ['default'],
      properties: { default: { ...stringList, minItems: 1 } },
    },
    regions: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', pattern: '^[a-z]{2}(-[a-z]+)+-\\d$', description: 'an AWS region like eu-west-1' },
          optIn: { type: 'boolean' },
        },
      },
    },
    php: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^8\\.\\d+$', description: 'a PHP minor like "8.3"' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['signers', 'releases'],
        properties: {
          signers: { type: 'array', minItems: 1, items: fingerprint },
          debianSource: { type: 'string', pattern: '^[a-z0-9.+-]+$', description: 'a Debian source package name' },
          releases: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['version', 'sha256', 'url', 'signature'],
              properties: { version: phpVersion, sha256, url: httpsUrl, signature: httpsUrl },
            },
          },
        },
      },
    },
  },
} as const

const when = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    php: { type: 'string', minLength: 1, description: 'a semver range like ">=8.4"' },
    arch: { enum: archKeys },
    executor: { enum: ['host', 'docker'] },
  },
}
const packageSet = {
  type: 'object',
  additionalProperties: false,
  properties: { apt: stringList, dnf: stringList },
}
const extensionFields = {
  module: { type: 'string', minLength: 1 },
  flags: { type: 'array', items: { type: 'string', pattern: '^--(enable|with|disable|without)-', description: 'a configure flag like --enable-foo' } },
  shared: { type: 'boolean' },
  enabled: { type: 'boolean' },
  zend: { type: 'boolean' },
  requires: stringList,
  packages: packageSet,
  ini: stringList,
  probe: {
    type: 'object',
    additionalProperties: false,
    required: ['code', 'expect'],
    properties: { code: { type: 'string', minLength: 1 }, expect: { type: 'string' } },
  },
}

export const phpRecipeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['builtinModules', 'runtimeRequires', 'configure', 'packages', 'glibcPins', 'newGlibcConfigureEnv', 'ini', 'extensions'],
  properties: {
    builtinModules: stringList,
    runtimeRequires: stringList,
    configure: {
      type: 'object',
      additionalProperties: false,
      required: ['flags', 'env'],
      properties: {
        flags: { type: 'array', items: { type: 'string', pattern: '^--', description: 'a configure flag starting with --' } },
        env: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    packages: packageSet,
    glibcPins: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'a C symbol name' } },
    newGlibcConfigureEnv: { type: 'object', additionalProperties: { type: 'string' } },
    ini: stringList,
    extensions: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[a-z][a-z0-9_]*$', description: 'a lowercase extension name' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ...extensionFields,
          overrides: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['when', 'set'],
              properties: { when, set: { type: 'object', additionalProperties: false, properties: extensionFields } },
            },
          },
        },
      },
    },
  },
} as const
