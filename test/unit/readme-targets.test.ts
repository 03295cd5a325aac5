// The README's supported-targets table must say what versions.yaml says: the newest listed release and the end
// of security support per minor, and a minor past its end of life must be marked there.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../builder/config/load.ts'
import { compareDesc } from '../../builder/schema/php-version.ts'
import { projectRoot } from '../support/cli.ts'

const { versions } = loadConfig({ root: projectRoot })
const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8')
const rows = new Map(
  readme.split('\n').filter((l) => /^\| 8\.\d+ \|/.test(l)).map((l) => {
    const cells = l.split('|').map((c) => c.trim())
    return [cells[1]!, cells] as const
  }),
)
const today = new Date().toISOString().slice(0, 10)

t.test('one README row per minor, with its newest listed release and end-of-life date', async (t) => {
  t.same([...rows.keys()].sort(), Object.keys(versions.php).sort())
  for (const [minor, info] of Object.entries(versions.php)) {
    const cells = rows.get(minor)!
    const newest = info.releases.map((r) => r.version).sort(compareDesc)[0]!
    t.match(cells[2], new RegExp(`^${newest.replaceAll('.', '\\.')}\\b`), `${minor}: newest listed ${newest}`)
    t.match(cells[3], new RegExp(`^${info.endOfLife}`), `${minor}: security fixes until ${info.endOfLife}`)
    if (info.endOfLife && today > info.endOfLife) t.match(cells[3], /end of life/i, `${minor} is past its end of life and says so`)
  }
})
