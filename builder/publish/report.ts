// The per-region table printed at the end of a run (pure: report in, text out).
import type { PublishReport, RegionResult } from './publisher.ts'

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

function publicColumn(r: RegionResult): string {
  if (r.status === 'failed' || r.status === 'would-publish') return '-'
  if (r.status === 'would-make-public') return 'would add'
  return r.permissionAdded ? 'added' : 'yes'
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n')
}

export function formatReport(report: PublishReport): string {
  const head = `${report.dryRun ? 'Dry run: ' : ''}${report.layerName} — PHP ${report.php} ${report.arch}, build ${report.buildId.slice(0, 12)}, ${formatBytes(report.zipBytes)}${report.viaS3 ? ' via S3' : ''}, CodeSha256 ${report.codeSha256}`
  const rows = [['REGION', 'STATUS', 'VERSION', 'PUBLIC', 'ATTEMPTS', 'TIME', 'ARN / ERROR']]
  for (const r of report.regions) {
    const version = r.version !== undefined ? String(r.version) : r.previousVersion !== undefined ? `(${r.previousVersion})` : '-'
    const last = r.status === 'failed' ? `${r.error ?? 'failed'}${r.hint ? ` — ${r.hint}` : ''}` : (r.arn ?? '')
    rows.push([r.region, r.status, version, publicColumn(r), String(r.attempts), `${(r.ms / 1000).toFixed(1)}s`, last])
  }
  const count = (s: RegionResult['status']): number => report.regions.filter((r) => r.status === s).length
  const parts = report.dryRun
    ? [`${count('would-publish')} would publish`, `${count('would-make-public')} would be made public`, `${count('up-to-date')} up to date`]
    : [`${count('published')} published`, `${count('reused')} reused`]
  const summary = `${report.regions.length} region${report.regions.length === 1 ? '' : 's'}: ${parts.join(', ')}, ${report.failed} failed; uploaded ${formatBytes(report.uploadedBytes)} in ${(report.ms / 1000).toFixed(1)}s`
  return `${head}\n\n${table(rows)}\n\n${summary}\n`
}
