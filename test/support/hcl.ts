// HCL → JSON through @cdktf/hcl2json (HashiCorp's own HCL parser, compiled to WebAssembly). Imported by a computed
// name on purpose: the package's typings reference the DOM lib, which would retype fetch() and friends for the whole
// type-checked program; this module states the one signature we use instead.
type Parse = (fileName: string, contents: string) => Promise<Record<string, any>>

const moduleName = '@cdktf/hcl2json'

export async function parseHcl(fileName: string, contents: string): Promise<Record<string, any>> {
  const { parse } = (await import(moduleName)) as { parse: Parse }
  return parse(fileName, contents)
}
