// Every deployment snippet for one target, from one call: the only way layers.json reaches a snippet.
import { renderCdk } from './cdk.ts'
import { renderSam } from './sam.ts'
import { renderServerless } from './serverless.ts'
import type { SnippetTarget } from './target.ts'
import { renderTerraform } from './terraform.ts'
import { TOOLS, type SnippetFile, type Tool } from './types.ts'

const RENDERERS: Record<Tool, (t: SnippetTarget) => SnippetFile[]> = {
  sam: renderSam,
  serverless: renderServerless,
  terraform: renderTerraform,
  cdk: renderCdk,
}

export function renderSnippets(target: SnippetTarget, tools: readonly Tool[] = TOOLS): SnippetFile[] {
  return tools.flatMap((tool) => RENDERERS[tool](target))
}
