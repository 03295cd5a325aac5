// CloudFormation resources that SAM and Serverless templates share, as YAML text at a given indent.

/**
 * One stage's ALB target: the permission for the load balancer to invoke `functionRef` (a CloudFormation value such
 * as `!Ref ProductionAlias`) and the Lambda target group, with multi-value headers on.
 */
export function albTargetYaml(stage: string, functionRef: string, indent: string, explain = false): string {
  const lines = [
    `${stage}AlbPermission:`,
    `  Type: AWS::Lambda::Permission`,
    `  Properties:`,
    `    FunctionName: ${functionRef}`,
    `    Action: lambda:InvokeFunction`,
    `    Principal: elasticloadbalancing.amazonaws.com`,
    ``,
    `${stage}TargetGroup:`,
    `  Type: AWS::ElasticLoadBalancingV2::TargetGroup`,
    `  DependsOn: ${stage}AlbPermission`,
    `  Properties:`,
    `    TargetType: lambda`,
    `    Targets:`,
    `      - Id: ${functionRef}`,
    `    TargetGroupAttributes:`,
    ...(explain ? [`      # Repeated headers (several Set-Cookie) need multi-value headers; the layer answers in the shape asked for.`] : []),
    `      - { Key: lambda.multi_value_headers.enabled, Value: "true" }`,
  ]
  return lines.map((l) => (l ? indent + l : l)).join('\n')
}
