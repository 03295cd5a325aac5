// versions.yaml and recipes/php.yaml: the accepted shapes, and (via Static<>) the TypeScript types the rest of the
// builder sees. Built from the shared blocks in builder/schema/common.ts; validated by builder/schema/validate.ts.
import {
  ArchSchema, closed, GlibcVersion, NonEmpty, perArch, PROBE_SERVICES, recordOf, Sha256Hex, stringEnum, StringList, Type, type Static,
} from '../schema/common.ts'

const fingerprint = Type.String({ pattern: '^[0-9A-F]{40}$', description: '40 uppercase hex characters' })
const httpsUrl = Type.String({ pattern: '^https://\\S+$', description: 'an https:// URL' })
const phpVersion = Type.String({ pattern: '^8\\.\\d+\\.\\d+((alpha|beta|RC)\\d+)?$', description: 'a PHP version like 8.2.32 or 8.6.0RC3' })
const isoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'a date like "2026-12-31"' })

export const PhpReleaseSchema = Type.Object({ version: phpVersion, sha256: Sha256Hex, url: httpsUrl, signature: httpsUrl }, closed)

export const PhpMinorSchema = Type.Object(
  {
    /** GPG fingerprints (40 hex) of the release managers allowed to sign this minor's tarballs. */
    signers: Type.Array(fingerprint, { minItems: 1 }),
    /** Debian source package carrying this minor's upstream tarball, e.g. php8.2. */
    debianSource: Type.Optional(Type.String({ pattern: '^[a-z0-9.+-]+$', description: 'a Debian source package name' })),
    /**
     * Debian suites newer than the build host's that carry debianSource; scripts/setup-host.sh adds deb-src entries
     * for them only when asked to prepare a build of this minor.
     */
    debianSuites: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z]+(-[a-z]+)?$', description: 'a Debian suite like trixie' }))),
    /** Last day of security support (php.net's supported-versions page); after it the minor still builds, flagged. */
    endOfLife: Type.Optional(isoDate),
    /** Newest first. */
    releases: Type.Array(PhpReleaseSchema, { minItems: 1 }),
  },
  closed,
)

export const ArchInfoSchema = Type.Object(
  {
    gnuTriplet: Type.String(),
    debianArch: Type.String(),
    dockerPlatform: Type.String(),
    /** GitHub-hosted runner label that builds this arch natively (`npm run matrix`). */
    ciRunner: Type.Optional(Type.String({ pattern: '^[a-z0-9.-]+$', description: 'a GitHub runner label like ubuntu-24.04' })),
    elfMachine: Type.Integer(),
    glibcBaseline: Type.String({ pattern: '^2\\.\\d+(\\.\\d+)?$', description: 'a glibc version like "2.17"' }),
  },
  closed,
)

export const RegionSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$', description: 'an AWS region like eu-west-1' }),
    optIn: Type.Optional(Type.Boolean()),
  },
  closed,
)

export const BaseSchema = Type.Object(
  {
    name: NonEmpty,
    image: NonEmpty,
    runtime: NonEmpty,
    glibc: GlibcVersion,
    /** Per arch: a file listing the base image's library file names, relative to the project root. */
    libraries: perArch(NonEmpty),
    gconvModules: StringList,
    notOnLambdaHost: StringList,
  },
  closed,
)

/** A docker executor build environment (versions.yaml buildImages.<key>). */
export const BuildImageSchema = Type.Object(
  {
    dockerfile: Type.String({ pattern: '^dockerfiles/[\\w.-]+\\.Dockerfile$', description: 'a path like dockerfiles/al2023.Dockerfile' }),
    packageManager: stringEnum(['apt', 'dnf'] as const),
    /** glibc of the image; newer than the base's means the glibc pins apply. */
    glibc: GlibcVersion,
    /** Amazon Linux release pinned for dnf (--releasever). */
    releasever: Type.Optional(Type.String({ pattern: '^\\d{4}\\.\\d+\\.\\d{8}$', description: 'an Amazon Linux release like 2023.8.20250721' })),
    /** Image reference per arch it can build. */
    images: Type.Partial(perArch(Type.String({ pattern: '^[a-z0-9./_:-]+(@sha256:[0-9a-f]{64})?$', description: 'an image reference, optionally @sha256:<64 hex>' })), { minProperties: 1 }),
    /** Script that makes the image locally when it cannot be pulled. */
    make: Type.Optional(NonEmpty),
  },
  closed,
)

export const versionsSchema = Type.Object(
  {
    schema: Type.Literal(1, { description: '1' }),
    base: BaseSchema,
    buildImages: Type.Optional(recordOf(BuildImageSchema, { pattern: '^[a-z][a-z0-9-]*$', description: 'a lowercase image key like al2023' }, { minProperties: 1 })),
    archs: perArch(ArchInfoSchema),
    layer: Type.Object(
      {
        name: Type.String({ pattern: '\\{major\\}', description: 'a template using {prefix}, {major}, {minor}' }),
        prefix: perArch(Type.String({ pattern: '^[a-z0-9-]*$', description: 'lowercase letters, digits, -' })),
        license: Type.String({ maxLength: 512, description: 'at most 512 characters (Lambda LicenseInfo)' }),
        sizeBudget: Type.Optional(
          Type.Object(
            { defaultUnzippedBytes: Type.Integer({ minimum: 1, description: 'a whole number of bytes' }) },
            closed,
          ),
        ),
      },
      closed,
    ),
    extensions: Type.Object({ default: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }) }, closed),
    regions: Type.Array(RegionSchema, { minItems: 1 }),
    php: recordOf(PhpMinorSchema, { pattern: '^8\\.\\d+$', description: 'a PHP minor like "8.3"' }, { minProperties: 1 }),
  },
  closed,
)

/** Executor names a recipe may key on (`when.executor`); a test checks the registry (builder/executors/index.ts) against it. */
export const WHEN_EXECUTORS = ["host", "docker"] as const

/** A condition on the build target; every given key must match. */
export const WhenSchema = Type.Object(
  {
    /** semver range over the PHP version, e.g. ">=8.5" */
    php: Type.Optional(Type.String({ minLength: 1, description: 'a semver range like ">=8.4"' })),
    arch: Type.Optional(ArchSchema),
    executor: Type.Optional(stringEnum(WHEN_EXECUTORS)),
    /** The build machine's arch differs from the target's (cross-compiling). */
    cross: Type.Optional(Type.Boolean({ description: "true when the build machine's arch differs from the target's" })),
  },
  { ...closed, minProperties: 1 },
)

export const PackageSetSchema = Type.Object({ apt: Type.Optional(StringList), dnf: Type.Optional(StringList) }, closed)

export const ProbeSchema = Type.Object(
  {
    /** PHP code run with `php -r`; its output must equal `expect`. */
    code: Type.String({ minLength: 1 }),
    expect: Type.String(),
    /** ini settings the probe runs with (`php -d`), for what a CLI run has off by default (apc.enable_cli). */
    ini: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9_.]*=', description: 'a setting like apc.enable_cli=1' }))),
  },
  closed,
)

const extensionFields = {
  /** Name as `php -m` prints it; defaults to the recipe name. */
  module: Type.Optional(Type.String({ minLength: 1 })),
  /** configure flags that enable it (for shared builds, use the =shared form). */
  flags: Type.Optional(Type.Array(Type.String({ pattern: '^--(enable|with|disable|without)-', description: 'a configure flag like --enable-foo' }))),
  /** Built as a loadable .so. */
  shared: Type.Optional(Type.Boolean()),
  /** Loaded by the layer's ini (only meaningful for shared extensions). */
  enabled: Type.Optional(Type.Boolean()),
  /** A zend_extension (opcache). */
  zend: Type.Optional(Type.Boolean()),
  /** Other extensions this one needs built too. */
  requires: Type.Optional(StringList),
  packages: Type.Optional(PackageSetSchema),
  /** ini lines written to conf.d when the extension is enabled. */
  ini: Type.Optional(StringList),
  probe: Type.Optional(ProbeSchema),
}
export const ExtensionFieldsSchema = Type.Object(extensionFields, closed)

export const ExtensionRecipeSchema = Type.Object(
  {
    ...extensionFields,
    /** Keyed differences: the first matching override's fields replace the base fields. */
    overrides: Type.Optional(Type.Array(Type.Object({ when: WhenSchema, set: ExtensionFieldsSchema }, closed))),
  },
  closed,
)

/** Build-wide differences by target (see `overrides` in recipes/php.yaml). */
export const BuildFieldsSchema = Type.Object(
  {
    packages: Type.Optional(PackageSetSchema),
    configureFlags: Type.Optional(Type.Array(Type.String({ pattern: '^--', description: 'a configure flag starting with --' }))),
    configureEnv: Type.Optional(recordOf(Type.String())),
    /** The strip tool for the target (default `strip`). */
    strip: Type.Optional(Type.String({ pattern: '^[\\w.+-]+$', description: 'a strip command name like aarch64-linux-gnu-strip' })),
    /** qemu-user command that runs the target's programs during the compile (cross builds). */
    emulator: Type.Optional(Type.String({ pattern: '^[\\w.+-]+$', description: 'a qemu-user command name like qemu-aarch64-static' })),
  },
  { ...closed, minProperties: 1 },
)

export const phpRecipeSchema = Type.Object(
  {
    /** Modules every build has whatever the flags (php -m names). */
    builtinModules: StringList,
    /** Extensions the runtime bootstrap needs; always built. */
    runtimeRequires: StringList,
    configure: Type.Object(
      {
        flags: Type.Array(Type.String({ pattern: '^--', description: 'a configure flag starting with --' })),
        env: recordOf(Type.String()),
      },
      closed,
    ),
    /**
     * One copy of the PHP core for both programs: libphp.so (the embed SAPI) holds the core and the static
     * extensions, and php and php-cgi are linked against it instead of each carrying its own.
     */
    sharedCore: Type.Optional(
      Type.Object(
        {
          /**
           * C declarations of functions php or php-cgi call that PHP's headers leave hidden (no ZEND_API), made
           * visible in libphp.so by a force-included header. A new one shows as an undefined reference at link.
           */
          export: Type.Array(Type.String({ pattern: '^[A-Za-z_][\\w *]* \\**[A-Za-z_]\\w*\\([\\w *,]*\\)$', description: 'a C function declaration like "void zend_signal_init(void)"' })),
        },
        closed,
      ),
    ),
    /** Build toolchain packages every compile needs. */
    packages: PackageSetSchema,
    /**
     * Symbols whose newest glibc version is above the base's ceiling, pinned to the arch's baseline version when the
     * toolchain's glibc is newer than the base's (host builds on Debian bookworm).
     */
    glibcPins: Type.Array(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'a C symbol name' })),
    /** configure cache variables forced on toolchains with a newer glibc, so PHP does not pick functions the base lacks. */
    newGlibcConfigureEnv: recordOf(Type.String()),
    /** Build-wide differences by target; every matching entry applies (packages and flags added, env set). */
    overrides: Type.Optional(Type.Array(Type.Object({ when: WhenSchema, set: BuildFieldsSchema }, closed))),
    /** The ini every layer ships (/opt/php/etc/php.ini). */
    ini: StringList,
    extensions: recordOf(ExtensionRecipeSchema, { pattern: '^[a-z][a-z0-9_]*$', description: 'a lowercase extension name' }, { minProperties: 1 }),
  },
  closed,
)

export type VersionsFile = Static<typeof versionsSchema>
export type PhpMinorInfo = Static<typeof PhpMinorSchema>
export type PhpRelease = Static<typeof PhpReleaseSchema>
export type ArchInfo = Static<typeof ArchInfoSchema>
export type BuildImage = Static<typeof BuildImageSchema>
export type Region = Static<typeof RegionSchema>
export type When = Static<typeof WhenSchema>
export type PackageSet = Static<typeof PackageSetSchema>
export type Probe = Static<typeof ProbeSchema>
export type ExtensionFields = Static<typeof ExtensionFieldsSchema>
export type ExtensionRecipe = Static<typeof ExtensionRecipeSchema>
export type PhpRecipe = Static<typeof phpRecipeSchema>
export type BuildFields = Static<typeof BuildFieldsSchema>

// recipes/ext/<name>.yaml: an extension built outside the PHP compile, against a finished base build (phpize), and
// shipped in an add-on layer (`npm run build -- --addon <name>`). A new PECL extension is one such file.

/** Where an add-on extension's source comes from. */
export const AddonSourceSchema = Type.Union([
  /** A PECL release: pinned by sha256; offline, Debian's source package of it (its orig tarball) serves the same bytes. */
  Type.Object(
    {
      pecl: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*$', description: 'a PECL package name' }),
      version: Type.String({ pattern: '^\\d+\\.\\d+\\.\\d+\\S*$', description: 'a release version like 6.2.0' }),
      url: httpsUrl,
      sha256: Sha256Hex,
      /**
       * A Debian source package whose orig tarball is these exact bytes (the build checks the sha256, whichever mirror
       * served them).
       */
      debian: Type.Optional(Type.Object({ package: NonEmpty, origFile: NonEmpty }, closed)),
      /**
       * Debian's orig tarball is a repack, not the PECL file (php-mongodb bundles several releases in one .tar.xz):
       * `sha256` then pins Debian's bytes, the build takes the release from `dir` inside it, and `url` (the PECL
       * release, whose own sha256 could not be read where the pin was made) is recorded but not fetched.
       */
      repack: Type.Optional(
        Type.Object({ dir: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'a directory name like mongodb-1.15.0' }) }, closed),
      ),
      /** Where the pin came from and what was checked (free text, for reviewers). */
      provenance: Type.Optional(NonEmpty),
    },
    closed,
  ),
  /** An extension in the PHP tarball itself (ext/<dir>), built with the PHP source the base layer was built from. */
  Type.Object({ bundled: Type.String({ pattern: '^ext/[a-z0-9_]+$', description: 'a directory like ext/gd' }) }, closed),
])

const addonFields = {
  /** configure flags for the extension's own configure (after phpize). */
  configure: Type.Optional(Type.Array(Type.String({ pattern: '^--(enable|with|disable|without)-', description: 'a configure flag like --enable-foo' }))),
  packages: Type.Optional(PackageSetSchema),
}
export const AddonFieldsSchema = Type.Object(addonFields, { ...closed, minProperties: 1 })

export const AddonRecipeSchema = Type.Object(
  {
    /** One line for `--addon` listings and the layer's description. */
    description: Type.String({ minLength: 1, maxLength: 120 }),
    /** Name as `php -m` prints it; defaults to the recipe name. */
    module: Type.Optional(NonEmpty),
    source: AddonSourceSchema,
    /** The PHP versions it builds on, as a semver range over the PHP version ("<8.5" …). */
    php: Type.String({ minLength: 1, description: 'a semver range like ">=8.1 <8.6"' }),
    ...addonFields,
    /** Other recipes/ext extensions it needs loaded first (built into the same add-on layer). */
    requires: Type.Optional(StringList),
    /** Core extensions (recipes/php.yaml) the base layer must have: their headers at build time, the module at run time. */
    baseRequires: Type.Optional(StringList),
    /**
     * Extensions (by recipe or core name, or others such as xdebug) it must not be loaded with: planning refuses a
     * layer or a base holding both.
     */
    conflicts: Type.Optional(StringList),
    /** A zend_extension (loaded with zend_extension=). */
    zend: Type.Optional(Type.Boolean()),
    /** ini lines after the extension= line. */
    ini: Type.Optional(StringList),
    /** Functional check run in the stacked smoke test: its output must equal `expect`. */
    probe: ProbeSchema,
    /** Services the probe needs on loopback, started by the smoke test (e.g. redis-server). */
    probeServices: Type.Optional(Type.Array(stringEnum(PROBE_SERVICES))),
    /** For development only (pcov, xdebug): the layer description says so. */
    devOnly: Type.Optional(Type.Boolean()),
    /**
     * recipes/lib libraries built from source before the extension, in this order, into a private prefix the
     * extension's configure flags name as {deps}; their shared objects ship in the add-on's lib/.
     */
    libraries: Type.Optional(StringList),
    overrides: Type.Optional(Type.Array(Type.Object({ when: WhenSchema, set: AddonFieldsSchema }, closed))),
  },
  closed,
)

// recipes/lib/<name>.yaml: a library built from source for add-on extensions, where the distribution's build does not
// fit a layer (needs a newer glibc than the base's, or drags in what PHP never uses).
export const LibRecipeSchema = Type.Object(
  {
    description: Type.String({ minLength: 1, maxLength: 160 }),
    version: Type.String({ pattern: '^\\d+(\\.\\d+)*([-.+~][0-9A-Za-z.]+)?$', description: 'a release version like 7.1.1-43' }),
    source: Type.Object(
      {
        /** The upstream release. */
        url: httpsUrl,
        sha256: Sha256Hex,
        debian: Type.Optional(Type.Object({ package: NonEmpty, origFile: NonEmpty }, closed)),
        /** Debian's orig tarball is a repack (e.g. +dfsg): `sha256` pins Debian's bytes, fetched from Debian only. */
        repack: Type.Optional(Type.Boolean()),
        provenance: Type.Optional(NonEmpty),
      },
      closed,
    ),
    /** Packages its configure finds (headers of the libraries it links), per package manager. */
    packages: Type.Optional(PackageSetSchema),
    /** Its build system (default autoconf): ./configure && make, or cmake. */
    build: Type.Optional(Type.Union([Type.Literal('autoconf'), Type.Literal('cmake')])),
    /**
     * Flags after the install prefix (and the cross-compile settings): `--without-x` or `NAME=value` for ./configure,
     * `-DNAME=value` for cmake.
     */
    configure: Type.Array(Type.String({ pattern: '^(--[a-z]|-D[A-Za-z_][A-Za-z0-9_]*=|[A-Z][A-Z0-9_]*=)', description: 'a configure flag like --without-x or a variable like LDFLAGS_SL=-shared, or -DNAME=value for cmake' })),
    /**
     * autoconf only: run `make` and `make install` in these directories of the source tree, in order, instead of at its
     * top (the client library of a project that also builds a server).
     */
    makeDirs: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_./-]*$', description: 'a directory of the source tree like src/interfaces/libpq' }), { minItems: 1 })),
    /**
     * Headers the library's headers include that its install leaves out: `files` (paths under `from`, a directory of
     * the source tree) copied into the prefix's include/ with those paths (libpq/libpq-fs.h → include/libpq/).
     */
    headers: Type.Optional(
      Type.Object(
        {
          from: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_./-]*$', description: 'a directory of the source tree like src/include' }),
          files: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_./-]*\\.h$', description: 'a header under it like libpq/libpq-fs.h' }), { minItems: 1 }),
        },
        closed,
      ),
    ),
    /**
     * A `<name>` script in the prefix's bin/ that answers these options (each value printed as is, {deps} being the
     * prefix), for configure scripts that ask such a program where the library is: a script runs in a cross build,
     * where the library's own program, built for the target, would not.
     */
    configTool: Type.Optional(
      Type.Object(
        {
          name: Type.String({ pattern: '^[a-z][a-z0-9_-]*$', description: 'a program name like pg_config' }),
          answers: Type.Record(Type.String({ pattern: '^--[a-z][a-z-]*$' }), Type.String({ pattern: '^[^\'\\n$`\\\\]*$', description: 'one line without single quotes, $, ` or \\' }), { minProperties: 1 }),
        },
        closed,
      ),
    ),
  },
  closed,
)

export type LibRecipe = Static<typeof LibRecipeSchema>
export type AddonSource = Static<typeof AddonSourceSchema>
export type AddonRecipe = Static<typeof AddonRecipeSchema>
export type AddonFields = Static<typeof AddonFieldsSchema>
