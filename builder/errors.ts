// Every failure the CLI can report is one of these. Each class owns an exit code so scripts and CI can tell a bad
// flag from a broken download from a failed compile without parsing text.

export abstract class FactoryError extends Error {
  abstract readonly exitCode: number
  /** What the user should do next; printed on its own line under the message. */
  readonly hint: string | undefined
  constructor(message: string, hint?: string) {
    super(message)
    this.name = new.target.name
    this.hint = hint
  }
}

/** Bad command-line input: unknown flag value, unknown version, etc. */
export class UsageError extends FactoryError {
  readonly exitCode = 2
}
/** versions.yaml or a recipe is invalid. */
export class ConfigError extends FactoryError {
  readonly exitCode = 3
}
/** A source could not be fetched or failed verification (sha256, GPG). */
export class SourceError extends FactoryError {
  readonly exitCode = 4
}
/** The compile (configure, make, install) failed. */
export class BuildError extends FactoryError {
  readonly exitCode = 5
}
/** The staging tree could not become a valid layer (closure, ABI gate, size, zip). */
export class AssembleError extends FactoryError {
  readonly exitCode = 6
}
/** The layer failed a smoke check. */
export class SmokeError extends FactoryError {
  readonly exitCode = 7
}
/** Publishing to AWS failed or was refused. */
export class PublishError extends FactoryError {
  readonly exitCode = 8
}

/** `releases --check`: versions.yaml is behind php.net (not a failure of the tool; CI opens a pull request). */
export class StaleError extends FactoryError {
  readonly exitCode = 9
}

/** `npm run verify`: the rebuilt layer differs from the given one, or it cannot be rebuilt from its record. */
export class VerifyError extends FactoryError {
  readonly exitCode = 10
}

export const EXIT_CODES = {
  internal: 1,
  usage: 2,
  config: 3,
  source: 4,
  build: 5,
  assemble: 6,
  smoke: 7,
  publish: 8,
  stale: 9,
  verify: 10,
} as const
