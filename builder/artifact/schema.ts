// The artifacts the pipeline hands from stage to stage, as schemas (TypeBox → JSON Schema, checked by the one
// validator in builder/schema/validate.ts) with their TypeScript types derived from them:
// - the layer manifest (/opt/php/manifest.json inside the zip): everything known before zipping, including all
//   that smoke and publish need, so neither ever reads recipes or re-plans;
// - the sidecar (`<zip minus .zip>.manifest.json` beside the zip): the layer manifest plus the zip's own digests and
//   sizes, the assembly key and, after `npm run smoke`, the smoke record;
// - layers.json: the ARNs consumers pin.
import {
  ArchSchema, closed, GlibcVersion, NonEmpty, PhpMinor, PhpVersion, PROBE_SERVICES, recordOf, Sha256Hex, stringEnum, StringList, Type, type Static,
} from '../schema/common.ts'

export const MANIFEST_SCHEMA_VERSION = 2

export const ManifestSourceSchema = Type.Object(
  {
    name: NonEmpty,
    version: Type.String(),
    sha256: Sha256Hex,
    /**
     * Where the bytes came from in this build (upstream URL, debian:<pkg>=<ver>, or a local path). Only in the
     * sidecar: the same verified bytes from another mirror must give the same layer.
     */
    origin: Type.Optional(Type.String()),
    /** Signature checks performed, e.g. `gpg:E60913E4DF209907D8E30D96659A97C9CF2A795A`. */
    verified: Type.Array(Type.String()),
  },
  closed,
)

export const ProbeRecordSchema = Type.Object(
  {
    code: Type.String({ minLength: 1 }),
    expect: Type.String(),
    /** `php -d` settings the probe runs with. */
    ini: Type.Optional(StringList),
    /** Services the smoke test starts on loopback for it (their ports reach the probe as SMOKE_<NAME>_PORT). */
    services: Type.Optional(Type.Array(stringEnum(PROBE_SERVICES))),
  },
  closed,
)

export const ManifestExtensionSchema = Type.Object(
  {
    /** Recipe name, e.g. `pdo_sqlite`. */
    name: NonEmpty,
    /** Name as `php -m` prints it, e.g. `PDO`, `Zend OPcache`. */
    module: NonEmpty,
    /** Built as a loadable .so (rather than compiled into the binaries). */
    shared: Type.Boolean(),
    /** Loaded by the layer's own ini; false for shared extensions users turn on in /var/task/php/conf.d. */
    enabled: Type.Boolean(),
    zend: Type.Boolean(),
    /** The recipe's functional probe as it was when the layer was built (smoke runs exactly this). */
    probe: Type.Optional(ProbeRecordSchema),
  },
  closed,
)

export const SmokeCheckSchema = Type.Object(
  { name: NonEmpty, passed: Type.Boolean(), ms: Type.Number(), detail: Type.Optional(Type.String()) },
  closed,
)

export const SmokeRecordSchema = Type.Object(
  {
    /** sha256 (hex) of the zip the checks ran against; publish refuses the zip if this differs. */
    zipSha256: Sha256Hex,
    passed: Type.Boolean(),
    at: Type.String(),
    /** Identity of the smoke suite that ran (its code and fixtures); a changed suite re-runs. */
    suite: Type.Optional(Type.String()),
    toolchain: recordOf(Type.String()),
    checks: Type.Array(SmokeCheckSchema),
  },
  closed,
)

const layerManifestProperties = {
  schema: Type.Literal(MANIFEST_SCHEMA_VERSION, { description: String(MANIFEST_SCHEMA_VERSION) }),
  /** Layer name from the naming function, e.g. `php-82` or `arm-php-82`. */
  layerName: Type.String({ pattern: '^[A-Za-z0-9_-]{1,140}$', description: 'a Lambda layer name' }),
  php: Type.Object({ version: PhpVersion, minor: PhpMinor }, closed),
  arch: ArchSchema,
  base: Type.Object(
    {
      name: NonEmpty,
      image: NonEmpty,
      glibc: GlibcVersion,
      runtime: NonEmpty,
      /** File names of the base image's libraries for this arch (what the layer must not bundle, and all smoke mounts). */
      libraries: StringList,
      /** In the base image but not on the Lambda host: bundled when needed. */
      notOnLambdaHost: StringList,
      /** glibc converters the base carries (the smoke sandbox mounts only these). */
      gconvModules: StringList,
    },
    closed,
  ),
  /** How the target arch is named where it matters outside Lambda (multiarch dirs, ELF headers). */
  target: Type.Object({ gnuTriplet: NonEmpty, elfMachine: Type.Integer() }, closed),
  executor: NonEmpty,
  /** Content hash of every input of the build; equal ids mean byte-identical zips. */
  buildId: Type.String({ pattern: '^[0-9a-f]{16,64}$', description: 'lowercase hex characters' }),
  /** Modules `php -m` prints with the layer's default ini (sorted, case as PHP prints them). */
  modules: StringList,
  extensions: Type.Array(ManifestExtensionSchema),
  /** Shared libraries bundled under /opt/lib (file names), i.e. those the base image lacks. */
  libraries: StringList,
  sources: Type.Array(ManifestSourceSchema),
  configureFlags: Type.Array(Type.String()),
  /** Highest GLIBC symbol version any ELF file in the layer needs. */
  maxGlibc: Type.String(),
  unzippedBytes: Type.Integer({ minimum: 0 }),
  /**
   * Every file of the layer but this manifest, by path, with its size: a size regression shows in review as a diff of
   * this list. Optional only so that layers built before it existed still read.
   */
  files: Type.Optional(Type.Array(Type.Object({ path: NonEmpty, bytes: Type.Integer({ minimum: 0 }) }, closed))),
  /** LicenseInfo published with the layer. */
  license: Type.String({ maxLength: 512 }),
  toolchain: recordOf(Type.String()),
  /**
   * Present in add-on layers only (`--addon`): what it adds, and the exact base layer build it was compiled against
   * and must be stacked on. `modules` is then what `php -m` prints with both layers; `extensions` and `libraries`
   * are the add-on's own.
   */
  addon: Type.Optional(
    Type.Object(
      {
        name: NonEmpty,
        description: NonEmpty,
        /** In load order, with the version of each extension's source. */
        extensions: Type.Array(Type.Object({ name: NonEmpty, version: NonEmpty }, closed)),
        /** For development only (pcov, xdebug). */
        devOnly: Type.Boolean(),
        base: Type.Object(
          {
            layerName: NonEmpty,
            /** File stem of the base zip, e.g. php-82-8.2.32-x86_64. */
            artifact: NonEmpty,
            /** The base layer's buildId: its files, byte for byte. */
            buildId: NonEmpty,
            /** PHP's extension API number (php-config --extension-dir's last part, e.g. 20220829): must equal the base's. */
            phpApi: Type.String({ pattern: '^\\d{8}$', description: 'an 8-digit API number like 20220829' }),
          },
          closed,
        ),
      },
      closed,
    ),
  ),
}

/** /opt/php/manifest.json: everything known before the zip exists. */
export const LayerManifestSchema = Type.Object(layerManifestProperties, closed)

export const ZipFactsSchema = Type.Object(
  {
    file: NonEmpty,
    bytes: Type.Integer({ minimum: 0 }),
    /** hex sha256 of the zip file */
    sha256: Sha256Hex,
    /** base64 of the raw sha256, as Lambda reports Content.CodeSha256 */
    codeSha256: NonEmpty,
  },
  closed,
)

/** The sidecar beside the zip. */
export const ZipManifestSchema = Type.Object(
  {
    ...layerManifestProperties,
    /** Hash of every input of assembly (compiled tree, toolchain, plan, runtime, assembler code): equal → same zip. */
    assemblyKey: Type.Optional(Type.String()),
    zip: ZipFactsSchema,
    smoke: Type.Optional(SmokeRecordSchema),
  },
  closed,
)

export const LayerRegionEntrySchema = Type.Object(
  {
    /** Full layer version ARN, what a function's Layers list takes. */
    arn: Type.String({ pattern: '^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\\d{12}:layer:[A-Za-z0-9_-]+:\\d+$', description: 'a layer version ARN' }),
    version: Type.Integer({ minimum: 1 }),
    /** Exact PHP version, e.g. 8.3.14. */
    php: Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+', description: 'a PHP version like 8.3.14' }),
    buildId: Type.String(),
    /** base64 sha256 of the zip, as Lambda reports it. */
    codeSha256: NonEmpty,
    /** Zip size as Lambda stored it (CodeSize). */
    zipBytes: Type.Integer({ minimum: 0 }),
    unzippedBytes: Type.Integer({ minimum: 0 }),
    /** Lambda's CreatedDate for the version (so reusing a version never changes the file). */
    publishedAt: NonEmpty,
  },
  closed,
)

export const LayerEntrySchema = Type.Object(
  {
    /** PHP minor, e.g. 8.3. */
    php: PhpMinor,
    arch: ArchSchema,
    regions: recordOf(LayerRegionEntrySchema),
  },
  closed,
)

export const LayersFileSchema = Type.Object({ schema: Type.Literal(1, { description: '1' }), layers: recordOf(LayerEntrySchema) }, closed)

export type ManifestSource = Static<typeof ManifestSourceSchema>
export type ManifestExtension = Static<typeof ManifestExtensionSchema>
export type SmokeCheck = Static<typeof SmokeCheckSchema>
export type SmokeRecord = Static<typeof SmokeRecordSchema>
export type LayerManifest = Static<typeof LayerManifestSchema>
export type ZipManifest = Static<typeof ZipManifestSchema>
export type LayerRegionEntry = Static<typeof LayerRegionEntrySchema>
export type LayerEntry = Static<typeof LayerEntrySchema>
export type LayersFile = Static<typeof LayersFileSchema>
