import { arch as nodeArch } from 'node:os'
import type { Arch } from './schema/common.ts'

/** Node's name for this machine's architecture → ours; undefined for architectures Lambda does not run. */
const NODE_TO_ARCH: Record<string, Arch> = { x64: 'x86_64', arm64: 'arm64' }

/** This machine's architecture in Lambda's spelling (the one place Node's names are mapped). */
export function nativeArch(): Arch | undefined {
  return NODE_TO_ARCH[nodeArch()]
}

/** For messages: our name, or Node's when Lambda has no such architecture. */
export function nativeArchName(): string {
  return nativeArch() ?? nodeArch()
}

/**
 * Where a Debian/Ubuntu machine keeps shared libraries for a target: the multiarch directories
 * first, then the cross-compiling sysroot (crossbuild-essential-*), then the legacy paths. Used by
 * assembly (to find what the layer must bundle) and by the smoke sandbox (to find the host's
 * stand-ins for the base image's libraries).
 */
export function debianLibDirs(gnuTriplet: string): string[] {
  return [`/lib/${gnuTriplet}`, `/usr/lib/${gnuTriplet}`, `/usr/${gnuTriplet}/lib`, '/lib64', '/usr/lib64', '/lib', '/usr/lib']
}

/**
 * Where scripts/setup-host.sh --arch <arch> unpacks another architecture's Debian packages on this machine (the
 * recipes' libraries for that arch and their closure, glibc included), so the machine's own -dev packages stay
 * untouched. Cross builds compile against it (recipes: {sysroot}); the emulated smoke test takes the base
 * libraries from it.
 */
export function crossSysroot(arch: Arch): string {
  // PHP_LAYER_CROSS_ROOT points the builder at sysroots unpacked elsewhere (or, in tests, at none at all).
  return `${process.env.PHP_LAYER_CROSS_ROOT || '/usr/local/lib/php-layer-cross'}/${arch}`
}

/** crossSysroot for every arch, as the planner takes it. */
export function crossSysroots(): Record<Arch, string> {
  return { x86_64: crossSysroot('x86_64'), arm64: crossSysroot('arm64') }
}

/** The library directories of a Debian sysroot (packages unpacked into `dir`, as scripts/setup-host.sh does). */
export function sysrootLibDirs(dir: string, gnuTriplet: string): string[] {
  return [`${dir}/lib/${gnuTriplet}`, `${dir}/usr/lib/${gnuTriplet}`]
}
