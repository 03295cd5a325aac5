// One generated file: a path relative to the output directory, and its text.
export interface SnippetFile {
  path: string
  text: string
}

export const TOOLS = ['sam', 'serverless', 'terraform', 'cdk'] as const
export type Tool = (typeof TOOLS)[number]
