// Lets a cross compile run the target's own programs (configure's run tests, phar.phar generation) through
// qemu-user, without touching the machine: the emulator is registered with binfmt_misc inside a private user and
// mount namespace (Linux 6.7+ gives each user namespace its own binfmt_misc instance), so only the compile's
// processes see it. Where that is not possible configure falls back to the recipe's cached answers.
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Runner } from '../run.ts'

/**
 * The binfmt_misc rule for 64-bit little-endian ELF executables and shared objects of one machine, in the
 * register file's own notation (the kernel decodes the \x escapes). The mask ignores the OS/ABI byte and the low
 * bit of e_type (ET_EXEC and ET_DYN both match).
 */
export function binfmtRule(name: string, elfMachine: number, interpreter: string): string {
  const hex = (bytes: number[]) => bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')
  const magic = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, elfMachine & 0xff, elfMachine >> 8]
  const mask = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff]
  // F: the kernel opens the interpreter now, so it works whatever the command's mount namespace later shows.
  return `:${name}:M::${hex(magic)}:${hex(mask)}:${interpreter}:F`
}

const SCRIPT = `#!/bin/sh
# usage: with-binfmt.sh <rule> <command...>: runs the command with the rule in this namespace's binfmt_misc.
set -eu
rule=$1; shift
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
printf '%s' "$rule" > /proc/sys/fs/binfmt_misc/register
exec "$@"
`

export interface PrivateBinfmt {
  /** argv prefix that runs a command with the emulator registered; empty when unavailable. */
  prefix: string[]
  /** For the toolchain identity and the log: the emulator and its version, or why it is not used. */
  identity: string
}

/** Finds the emulator, writes the helper into `workDir` and proves the registration works here. */
export async function privateBinfmt(run: Runner, workDir: string, emulator: string, elfMachine: number): Promise<PrivateBinfmt> {
  const path = (process.env.PATH ?? '/usr/bin').split(':').filter(Boolean).map((d) => join(d, emulator)).find((p) => existsSync(p))
  if (!path) return { prefix: [], identity: `${emulator} not installed` }
  const helper = join(workDir, 'with-binfmt.sh')
  writeFileSync(helper, SCRIPT, { mode: 0o755 })
  const prefix = ['unshare', '--user', '--map-root-user', '--mount', '--', 'sh', helper, binfmtRule('php-layer-target', elfMachine, path)]
  const probe = await run([...prefix, 'true'])
  if (probe.exitCode !== 0) return { prefix: [], identity: `no private binfmt_misc here (${probe.stderr.trim().split('\n')[0] ?? `exit ${probe.exitCode}`})` }
  const version = await run([path, '--version'])
  return { prefix, identity: `${emulator} ${/version (\S+)/.exec(version.stdout)?.[1] ?? 'unknown'}` }
}
