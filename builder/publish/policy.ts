// Reading a layer version's resource policy: is it public, and does our statement exist as we would write it?
// Lambda returns the policy as a JSON string; statements may use "*" or {"AWS":"*"} and string-or-array actions.

/** The StatementId the publisher adds; reruns reuse it so a second add is a detectable no-op (409). */
export const PUBLIC_STATEMENT_ID = 'public-get-layer-version'
export const PUBLIC_ACTION = 'lambda:GetLayerVersion'
export const PUBLIC_PRINCIPAL = '*'

interface Statement {
  Sid?: unknown
  Effect?: unknown
  Principal?: unknown
  Action?: unknown
  Condition?: unknown
}

function statements(policyJson: string | undefined): Statement[] {
  if (policyJson === undefined || policyJson === '') return []
  try {
    const doc = JSON.parse(policyJson) as { Statement?: unknown }
    const s = doc.Statement
    if (Array.isArray(s)) return s.filter((x): x is Statement => typeof x === 'object' && x !== null)
    if (typeof s === 'object' && s !== null) return [s as Statement]
    return []
  } catch {
    return []
  }
}

function isEveryone(principal: unknown): boolean {
  if (principal === '*') return true
  if (typeof principal === 'object' && principal !== null) {
    const aws = (principal as { AWS?: unknown }).AWS
    return aws === '*' || (Array.isArray(aws) && aws.includes('*'))
  }
  return false
}

function allowsGet(action: unknown): boolean {
  return action === PUBLIC_ACTION || (Array.isArray(action) && action.includes(PUBLIC_ACTION))
}

/** A statement grants everyone GetLayerVersion with no condition (an OrganizationId condition is not public). */
export function isPublicPolicy(policyJson: string | undefined): boolean {
  return statements(policyJson).some(
    (s) => s.Effect === 'Allow' && isEveryone(s.Principal) && allowsGet(s.Action) && (s.Condition === undefined || isEmpty(s.Condition)),
  )
}

function isEmpty(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.keys(v).length === 0
}

/** What the statement with our Sid looks like: missing, what we would add, or something else under our Sid. */
export function ourStatement(policyJson: string | undefined, sid = PUBLIC_STATEMENT_ID): 'absent' | 'identical' | 'different' {
  const s = statements(policyJson).find((x) => x.Sid === sid)
  if (s === undefined) return 'absent'
  const same = s.Effect === 'Allow' && isEveryone(s.Principal) && allowsGet(s.Action) && (s.Condition === undefined || isEmpty(s.Condition))
  return same ? 'identical' : 'different'
}
