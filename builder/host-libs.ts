/**
 * Where a Debian/Ubuntu machine keeps shared libraries for a target: the multiarch directories
 * first, then the cross-compiling sysroot (crossbuild-essential-*), then the legacy paths. Used by
 * assembly (to find what the layer must bundle) and by the smoke sandbox (to find the host's
 * stand-ins for the base image's libraries).
 */
export function debianLibDirs(gnuTriplet: string): string[] {
  return [`/lib/${gnuTriplet}`, `/usr/lib/${gnuTriplet}`, `/usr/${gnuTriplet}/lib`, '/lib64', '/usr/lib64', '/lib', '/usr/lib']
}
