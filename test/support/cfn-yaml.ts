// Parses CloudFormation/SAM/Serverless YAML with the short intrinsic-function tags (!Ref, !GetAtt, !FindInMap, …)
// turned into their long JSON form, as CloudFormation reads them.
import { parse, type Tags } from 'yaml'

const SCALAR = ['Ref', 'GetAtt', 'Sub', 'ImportValue', 'Base64', 'GetAZs']
const SEQUENCE = ['FindInMap', 'Join', 'Select', 'Split', 'If', 'Equals', 'And', 'Or', 'Not', 'Sub', 'GetAtt', 'Cidr']

const fn = (name: string) => (name === 'Ref' ? 'Ref' : `Fn::${name}`)

const tags: Tags = [
  ...SCALAR.map((name) => ({
    tag: `!${name}`,
    // !GetAtt Res.Attr.Sub → ["Res", "Attr.Sub"]
    resolve: (value: string) => ({ [fn(name)]: name === 'GetAtt' ? [value.split('.')[0], value.split('.').slice(1).join('.')] : value }),
  })),
  ...SEQUENCE.map((name) => ({
    tag: `!${name}`,
    collection: 'seq' as const,
    resolve: (value: unknown) => ({ [fn(name)]: (value as { toJSON(): unknown }).toJSON() }),
  })),
]

export function parseCfnYaml(text: string): Record<string, unknown> {
  return parse(text, { customTags: tags }) as Record<string, unknown>
}
