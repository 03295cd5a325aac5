// The CI build matrix, derived from versions.yaml by the planner (pure), so workflows never keep their own list:
// the newest listed release of every PHP minor (pre-releases never), for every arch, with the runner that builds that arch natively.
import semver from 'semver'
import { ARCHS, type Config } from '../config/types.ts'
import { DEFAULT_BUILD_IMAGE, plan } from './plan.ts'
import { planAddon } from './addon.ts'
import { UsageError } from '../errors.ts'
import { isPreRelease } from '../schema/php-version.ts'

export interface MatrixEntry {
  php: string
  minor: string
  arch: string
  runner: string
  buildImage: string
  /** dist/<artifact>.zip and its .manifest.json */
  artifact: string
  /** The add-on layers (recipes/ext) that build on this release, space-separated, built after the base in the same job. */
  addons: string
}

export function buildMatrix(config: Config, opts: { minors?: string[]; archs?: string[] } = {}): { include: MatrixEntry[] } {
  const minors = Object.keys(config.versions.php)
    .filter((m) => !opts.minors || opts.minors.includes(m))
    // Scheduled builds are releases only: a minor with nothing but a pre-release (8.6.0RC3) is built on request.
    .filter((m) => config.versions.php[m]!.releases.some((r) => !isPreRelease(r.version)))
    .sort((a, b) => semver.compare(`${a}.0`, `${b}.0`))
  const include: MatrixEntry[] = []
  for (const minor of minors) {
    for (const arch of ARCHS.filter((a) => !opts.archs || opts.archs.includes(a))) {
      // Each entry runs on a native runner of its arch; which executors exist there is not the matrix's concern.
      const p = plan(config, { php: minor, arch, executor: 'docker', buildImage: DEFAULT_BUILD_IMAGE }, { executors: [], hostArch: arch })
      const addons = Object.keys(config.addons).sort().filter((name) => {
        try {
          planAddon(config, { php: p.php.version, arch, executor: 'docker', buildImage: DEFAULT_BUILD_IMAGE, addon: name }, { executors: [], hostArch: arch })
          return true
        } catch (e) {
          // Only "does not build on this release" (a PHP range, a base requirement) leaves one out; anything else is a bug.
          if (e instanceof UsageError) return false
          throw e
        }
      })
      include.push({
        php: p.php.version,
        minor,
        arch,
        runner: config.versions.archs[arch].ciRunner ?? 'ubuntu-24.04',
        buildImage: DEFAULT_BUILD_IMAGE,
        artifact: p.artifact,
        addons: addons.join(' '),
      })
    }
  }
  return { include }
}
