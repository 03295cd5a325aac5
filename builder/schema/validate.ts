// The one validator every reader uses (versions.yaml, recipes, manifests, layers.json): parse, check against the
// TypeBox/JSON Schema, and report the first problem in one line naming file, line, key path, what was found and
// what is accepted. JSON is parsed with the YAML parser (JSON is YAML 1.2), so JSON files get line numbers too.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { Static, TSchema } from '@sinclair/typebox'
import { LineCounter, parseDocument, type Document } from 'yaml'

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false })
const compiled = new WeakMap<object, ValidateFunction>()

function validatorFor(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema)
  if (!v) {
    v = ajv.compile(schema)
    compiled.set(schema, v)
  }
  return v
}

/** Builds the caller's error (ConfigError for config files, PublishError for layers.json, …). */
export type MakeError = (message: string, hint: string) => Error

export interface ValidateOptions {
  /** Name used in messages (a path relative to the project, usually). */
  file: string
  error: MakeError
  /** What the hint tells the user to do; defaults to "Edit <file> so that <path> is accepted." */
  hint?: (path: string) => string
}

/** Parses YAML or JSON text and validates it; throws `opts.error(...)` naming the first problem. */
export function parseAndValidate<S extends TSchema>(text: string, schema: S, opts: ValidateOptions): Static<S> {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    const { line } = lineCounter.linePos(e.pos[0])
    const format = /\.json$/i.test(opts.file) ? 'JSON' : 'YAML'
    throw opts.error(`${opts.file}:${line}: ${format} syntax error: ${e.message.split('\n')[0]}`, `Fix the syntax in ${opts.file}.`)
  }
  return check(doc.toJS() as unknown, schema, opts, doc, lineCounter)
}

/** Validates a value already in memory (no line numbers). */
export function validateValue<S extends TSchema>(value: unknown, schema: S, opts: ValidateOptions): Static<S> {
  return check(value, schema, opts)
}

/** True when the value matches; never throws. */
export function matches<S extends TSchema>(value: unknown, schema: S): value is Static<S> {
  return validatorFor(schema)(value) === true
}

function check<S extends TSchema>(data: unknown, schema: S, opts: ValidateOptions, doc?: Document, lc?: LineCounter): Static<S> {
  const validate = validatorFor(schema)
  if (validate(data)) return data as Static<S>
  const err = pickError(validate.errors ?? [])
  const path = pointerToPath(err.instancePath)
  const node = doc?.getIn(pointerSegments(err.instancePath), true) as { range?: [number, number] } | undefined
  const where = node?.range && lc ? `:${lc.linePos(node.range[0]).line}` : ''
  const hint = opts.hint ? opts.hint(path) : `Edit ${opts.file} so that ${path || 'the document'} is accepted.`
  throw opts.error(`${opts.file}${where}: ${describe(err, path)}`, hint)
}

// The most specific error is the most useful: prefer a problem deep in the tree over an `anyOf` summary at its root.
function pickError(errors: ErrorObject[]): ErrorObject {
  return [...errors].sort((a, b) => b.instancePath.length - a.instancePath.length)[0]!
}

function pointerSegments(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

/** `/php/8.2/releases/0/sha256` → `php."8.2".releases[0].sha256` */
export function pointerToPath(pointer: string): string {
  let out = ''
  for (const seg of pointerSegments(pointer)) {
    if (/^\d+$/.test(seg)) out += `[${seg}]`
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += (out ? '.' : '') + seg
    else out += (out ? '.' : '') + JSON.stringify(seg)
  }
  return out
}

function accepted(err: ErrorObject): string | undefined {
  return (err.parentSchema as { description?: string } | undefined)?.description
}

function describe(err: ErrorObject, path: string): string {
  const at = path || '(top level)'
  const got = err.data === undefined ? '' : `, got ${JSON.stringify(err.data)}`
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = (err.params as { additionalProperty: string }).additionalProperty
      const allowed = Object.keys((err.parentSchema as { properties?: object }).properties ?? {})
      return `unknown key "${key}" at ${at}; accepted keys: ${allowed.join(', ')}`
    }
    case 'required':
      return `missing key "${(err.params as { missingProperty: string }).missingProperty}" at ${at}`
    case 'enum':
      return `${at} is ${JSON.stringify(err.data)}; accepted: ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
    case 'const':
      return `${at} is ${JSON.stringify(err.data)}; accepted: ${JSON.stringify((err.params as { allowedValue: unknown }).allowedValue)}`
    case 'propertyNames': {
      const desc = (err.parentSchema as { propertyNames?: { description?: string } }).propertyNames?.description
      return `key ${JSON.stringify((err.params as { propertyName: string }).propertyName)} at ${at} is not accepted${desc ? `; accepted: ${desc}` : ''}`
    }
    case 'pattern':
      return `${at} must be ${accepted(err) ?? `matching ${(err.params as { pattern: string }).pattern}`}${got}`
    case 'type':
      return `${at} must be of type ${(err.params as { type: string }).type}${got}`
    default:
      return `${at} ${err.message ?? 'is invalid'}${accepted(err) ? ` (accepted: ${accepted(err)})` : ''}${got}`
  }
}
