// Schema validation with one readable line per problem: file, key path, line, what was found and what is accepted.
import { Ajv, type ErrorObject } from 'ajv'
import { LineCounter, parseDocument } from 'yaml'
import { ConfigError } from '../errors.ts'

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false })

/** Parse YAML text and validate it; throws ConfigError naming the first problem. */
export function parseAndValidate<T>(file: string, text: string, schema: object): T {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!
    const { line } = lineCounter.linePos(e.pos[0])
    throw new ConfigError(`${file}:${line}: YAML syntax error: ${e.message.split('\n')[0]}`, `Fix the YAML syntax in ${file}.`)
  }
  const data: unknown = doc.toJS()
  const validate = ajv.compile(schema)
  if (!validate(data)) {
    const err = pickError(validate.errors ?? [])
    const path = pointerToPath(err.instancePath)
    const node = doc.getIn(pointerSegments(err.instancePath), true) as { range?: [number, number] } | undefined
    const where = node?.range ? `:${lineCounter.linePos(node.range[0]).line}` : ''
    throw new ConfigError(`${file}${where}: ${describe(err, path)}`, `Edit ${file} so that ${path || 'the document'} is accepted.`)
  }
  return data as T
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
  const desc = (err.parentSchema as { description?: string } | undefined)?.description
  return desc
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
      return `key ${JSON.stringify((err.params as { propertyName: string }).propertyName)} at ${at} is not accepted`
    }
    case 'pattern': {
      const parentPath = at
      return `${parentPath} must be ${accepted(err) ?? `matching ${(err.params as { pattern: string }).pattern}`}${got}`
    }
    case 'type':
      return `${at} must be of type ${(err.params as { type: string }).type}${got}`
    default:
      return `${at} ${err.message ?? 'is invalid'}${accepted(err) ? ` (accepted: ${accepted(err)})` : ''}${got}`
  }
}
