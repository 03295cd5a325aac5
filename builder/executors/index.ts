// The executor registry: each entry declares, as data, what it can build (architectures per machine architecture,
// native/cross/emulated, bases, what must be installed) and loads its implementation lazily, so planning and
// `--dry-run` never import one. The planner decides from these declarations alone (builder/plan/capabilities.ts).
//
// Adding an executor or a target: add an entry (or a target line) here and implement Executor (types.ts) in its own
// module; the CLI's --executor choices, the planner's refusal messages and docs/architecture.md's table follow.
import type { ExecutorCapabilities } from '../plan/capabilities.ts'
import type { Executor } from './types.ts'

export interface ExecutorEntry {
  capabilities: ExecutorCapabilities
  load(): Promise<Executor>
}

export const EXECUTORS: Record<string, ExecutorEntry> = {
  host: {
    capabilities: {
      name: 'host',
      summary: 'compiles on this Debian/Ubuntu machine with its own toolchain (glibc pins keep binaries loadable on the base)',
      bases: ['provided.al2023'],
      needs: ['the recipes\' apt build packages (scripts/setup-host.sh installs them)'],
      targets: [
        { host: 'x86_64', arch: 'x86_64', mode: 'native', needs: [] },
        { host: 'arm64', arch: 'arm64', mode: 'native', needs: [] },
        // Debian's cross toolchain with the arm64 packages unpacked into a sysroot; configure's test programs and
        // the smoke test run under qemu-user (recipes/php.yaml overrides with cross: true).
        { host: 'x86_64', arch: 'arm64', mode: 'cross', needs: ['scripts/setup-host.sh --arch arm64 (cross toolchain, qemu-user-static, the arm64 sysroot)'] },
      ],
      addons: true,
    },
    load: async () => (await import('./host.ts')).hostExecutor(),
  },
  docker: {
    capabilities: {
      name: 'docker',
      summary: 'compiles in a container from a versions.yaml build image: the real Amazon Linux 2023 image (al2023) or an offline Debian root (debian)',
      bases: ['provided.al2023'],
      needs: ['a Docker engine (sudo scripts/docker-engine.sh start)', 'the build image: pulled (al2023) or made by sudo scripts/docker-base-image.sh (debian)'],
      targets: [
        { host: 'x86_64', arch: 'x86_64', mode: 'native', needs: [] },
        { host: 'arm64', arch: 'arm64', mode: 'native', needs: [] },
        // The image's own arm64 toolchain under qemu: slow, but the same bytes as a native arm64 build.
        { host: 'x86_64', arch: 'arm64', mode: 'emulated', needs: ['qemu-user-static and binfmt-support (binfmt_misc registration)'] },
        { host: 'arm64', arch: 'x86_64', mode: 'emulated', needs: ['qemu-user-static and binfmt-support (binfmt_misc registration)'] },
      ],
      // In `docker run` on the base's toolchain image plus the add-on's packages, with the base build's staging tree.
      addons: true,
    },
    load: async () => (await import('./docker.ts')).dockerExecutor(),
  },
}

export const EXECUTOR_NAMES = Object.keys(EXECUTORS)
export const EXECUTOR_CAPABILITIES: ExecutorCapabilities[] = Object.values(EXECUTORS).map((e) => e.capabilities)
