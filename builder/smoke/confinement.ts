// What the smoke sandbox can have on this machine. The full sandbox needs an unprivileged user namespace, a pid
// namespace and a fresh /proc. Two common places deny part of that:
// - an unprivileged Docker container masks /proc, so mounting a new proc fails ("Can't mount proc on
//   /newroot/proc: Operation not permitted"): bind the container's /proc instead, without a pid namespace;
// - GitHub's ubuntu-24.04 runners restrict unprivileged user namespaces through AppArmor: run bwrap as root
//   (passwordless sudo there), which may create them.
// Each fallback is probed with a real bwrap call; what fidelity it loses is said in the output and recorded.
import type { Runner } from '../run.ts'

export interface Confinement {
  /** Bind this machine's /proc instead of mounting a fresh one in a new pid namespace. */
  hostProc: boolean
  /** Run bwrap through `sudo -n` (user namespaces are denied to unprivileged users here). */
  sudo: boolean
  /** Human description of what differs from the full sandbox; empty for the full sandbox. */
  lost: string[]
}

export const FULL: Confinement = { hostProc: false, sudo: false, lost: [] }

/** bwrap arguments for the namespaces and /proc of a confinement (the part the probes vary). */
export function namespaceArgs(c: Confinement): string[] {
  return c.hostProc
    ? ['--unshare-ipc', '--unshare-uts', '--ro-bind', '/proc', '/proc']
    : ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--proc', '/proc']
}

/** argv prefix that runs bwrap under this confinement. */
export function bwrapPrefix(c: Confinement): string[] {
  return c.sudo ? ['sudo', '-n', 'bwrap'] : ['bwrap']
}

function probeArgv(c: Confinement): string[] {
  return [...bwrapPrefix(c), '--die-with-parent', '--unshare-user', '--uid', '993', '--gid', '990', ...namespaceArgs(c), '--ro-bind', '/usr', '/usr', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--dev', '/dev', '--', '/usr/bin/true']
}

const cache = new Map<string, Confinement>()

/** The most faithful confinement that works here; throws with bwrap's own words when none does. */
export async function detectConfinement(run: Runner): Promise<Confinement> {
  const cached = cache.get('probe')
  if (cached) return cached
  const root = process.getuid?.() === 0
  const candidates: Confinement[] = [
    FULL,
    { hostProc: true, sudo: false, lost: ['/proc is this machine\'s (bound, no pid namespace): the layer can see other processes here, and PID 1 is not the bootstrap'] },
  ]
  if (!root) {
    const rootNote = 'bwrap runs as root through sudo (unprivileged user namespaces are denied here); the layer itself still runs as uid 993'
    candidates.push({ hostProc: false, sudo: true, lost: [rootNote] }, { hostProc: true, sudo: true, lost: [rootNote, candidates[1]!.lost[0]!] })
  }
  const errors: string[] = []
  for (const c of candidates) {
    if (c.sudo && (await run(['sudo', '-n', 'true'])).exitCode !== 0) {
      errors.push('sudo -n: not allowed without a password')
      continue
    }
    const r = await run(probeArgv(c))
    if (r.exitCode === 0) {
      cache.set('probe', c)
      return c
    }
    errors.push(r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`)
  }
  throw new Error(`bubblewrap cannot build a sandbox here: ${[...new Set(errors)].join('; ')}`)
}
