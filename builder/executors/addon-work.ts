// The add-on compile's work directory, the same for every executor: a fresh directory per key and process under the
// cache, holding the generated script, the source tree (src/) and the staging tree (stage/).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface AddonWork {
  work: string
  script: string
  build: string
  stage: string
}

export function addonWorkDir(cacheDir: string, key: string, script: string): AddonWork {
  const work = join(cacheDir, 'work', `addon-${key}-${process.pid}`)
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const scriptPath = join(work, 'addon.sh')
  writeFileSync(scriptPath, script, { mode: 0o755 })
  return { work, script: scriptPath, build: join(work, 'src'), stage: join(work, 'stage') }
}
