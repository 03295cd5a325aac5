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
      ],
    },
    load: async () => (await import('./host.ts')).hostExecutor(),
  },
}

export const EXECUTOR_NAMES = Object.keys(EXECUTORS)
export const EXECUTOR_CAPABILITIES: ExecutorCapabilities[] = Object.values(EXECUTORS).map((e) => e.capabilities)
