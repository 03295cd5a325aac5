// Lambda's documented limits, in one place for every hop: assembly and the smoke test check sizes, the publisher
// checks names, descriptions and upload sizes before calling anything (so bad input fails once, locally), and the
// test emulator enforces the same numbers from its own copy (it stands in for the cloud).
export const LIMITS = {
  /** PublishLayerVersion Description, characters. */
  description: 256,
  /** PublishLayerVersion LicenseInfo, characters. */
  licenseInfo: 512,
  compatibleRuntimes: 15,
  compatibleArchitectures: 2,
  /** Layer names: 1–140 characters of [a-zA-Z0-9-_] (the ARN form is longer but we never pass ARNs). */
  layerName: 140,
  /**
   * Direct uploads carry the zip base64-encoded inside a JSON body; Lambda rejects bodies over this many bytes with
   * 413 RequestEntityTooLargeException. It is 50 MiB of zip once base64 has grown it by 4/3.
   */
  requestBody: 69_905_067,
  /** The 50 MiB "zipped, uploaded directly" quota, for messages. */
  directZip: 50 * 1024 * 1024,
  /** Unzipped size of one layer (and of a function with all its layers). */
  unzipped: 262_144_000,
  /** StatementId: 1–100 characters of [a-zA-Z0-9-_]. */
  statementId: 100,
  /** ListLayerVersions MaxItems. */
  listMaxItems: 50,
} as const
