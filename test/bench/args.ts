// Flag parsing shared by the benchmarks (node:util parseArgs, strict): `--name value` and `--name=value` both work,
// an unknown flag or a bad value is a BenchUsageError, which index.ts prints as one line with exit code 2.
import { parseArgs } from 'node:util'

export class BenchUsageError extends Error {}

/** A benchmark whose measured command failed: printed as one line, exit code 1, and no figures. */
export class BenchFailed extends Error {}

export interface NumberFlag {
  default: number
  /** Whole numbers only. */
  integer?: boolean
}

export function benchArgs<F extends Record<string, NumberFlag>>(
  bench: string,
  args: string[],
  flags: F,
  positionals: { max: number; usage: string } = { max: 0, usage: '' },
): { values: { [K in keyof F]: number }; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: true, options: Object.fromEntries(Object.keys(flags).map((k) => [k, { type: 'string' as const }])) })
  } catch (e) {
    throw new BenchUsageError(`${(e as Error).message.split('\n')[0]}; accepted: ${accepted(flags, positionals.usage)}`)
  }
  if (parsed.positionals.length > positionals.max) {
    throw new BenchUsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}; accepted: ${accepted(flags, positionals.usage)}`)
  }
  const values = {} as { [K in keyof F]: number }
  for (const [name, spec] of Object.entries(flags) as Array<[keyof F & string, NumberFlag]>) {
    const raw = parsed.values[name]
    if (raw === undefined) {
      values[name] = spec.default
      continue
    }
    const n = Number(raw)
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n <= 0 || (spec.integer && !Number.isInteger(n))) {
      throw new BenchUsageError(`--${name} is ${JSON.stringify(raw)}; accepted: a positive ${spec.integer ? 'whole number' : 'number'}`)
    }
    values[name] = n
  }
  return { values, positionals: parsed.positionals }
}

function accepted(flags: Record<string, NumberFlag>, usage: string): string {
  return [usage, ...Object.entries(flags).map(([k, v]) => `--${k} <${v.integer ? 'n' : 'number'}> (default ${v.default})`)].filter(Boolean).join(', ')
}
