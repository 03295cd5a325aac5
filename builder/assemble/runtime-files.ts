// The runtime as it goes into a layer (/opt/bootstrap and /opt/php/runtime/): runtime/src verbatim plus the files
// generated from maintained data at assembly time (the MIME table the runtime serves static files with). Assembly
// and the tests that run the runtime from this repository both stage it through here, so they run the same files.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mime from 'mime-types'

/** Generated next to the runtime's sources; runtime/src/StaticFiles.php loads it. */
export const MIME_TABLE_FILE = 'mime-types.php'

/**
 * extension → media type as a PHP file returning an array. The data is the `mime-db` database as the `mime-types`
 * package resolves it (one type per extension, conflicts settled by its source ranking), so nothing is typed by
 * hand and an update is a dependency bump. Sorted, so the layer's bytes do not depend on the package's key order.
 */
export function mimeTablePhp(): string {
  const rows = Object.entries(mime.types)
    .filter(([ext, type]) => /^[a-z0-9][a-z0-9._+-]*$/.test(ext) && /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(type))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([ext, type]) => `    '${ext}' => '${type}',`)
  return [
    '<?php',
    '',
    '// Generated at layer assembly from the mime-db package (through mime-types); do not edit.',
    '// File extension (lower case) => media type, for the static files the runtime serves.',
    '',
    'return [',
    ...rows,
    '];',
    '',
  ].join('\n')
}

/** Copies runtime/bootstrap and runtime/src into `bootstrapPath` and `runtimeDest`, adding the generated files. */
export function stageRuntime(runtimeDir: string, bootstrapPath: string, runtimeDest: string): void {
  const bootstrap = join(runtimeDir, 'bootstrap')
  const src = join(runtimeDir, 'src')
  if (!existsSync(bootstrap) || !existsSync(src)) throw new Error(`runtime missing: expected ${bootstrap} and ${src}/`)
  copyFileSync(bootstrap, bootstrapPath)
  chmodSync(bootstrapPath, 0o755)
  mkdirSync(runtimeDest, { recursive: true })
  cpSync(src, runtimeDest, { recursive: true })
  writeFileSync(join(runtimeDest, MIME_TABLE_FILE), mimeTablePhp())
}
