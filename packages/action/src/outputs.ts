// Every output action.yml declares. The action sets each of them on every path, '' when it does
// not apply, so a workflow can read any of them without first checking which command ran.

export const OUTPUTS = [
  'result',
  'image',
  'digest',
  'image-ref',
  'tags',
  'pull-request-number',
  'pull-request-url',
  'branch',
  'commit-sha',
  'changed-files',
  'pull-request-operation',
  'pull-request-head-sha',
] as const;

export type OutputName = (typeof OUTPUTS)[number];
export type Outputs = Partial<Record<OutputName, string>>;

/** The value `result` takes when the step fails, so `continue-on-error` workflows can branch on it. */
export const FAILED = 'failed';

/** All outputs, with '' for those the command did not produce. */
export function completeOutputs(outputs: Outputs): Record<OutputName, string> {
  return Object.fromEntries(OUTPUTS.map((name) => [name, outputs[name] ?? ''])) as Record<
    OutputName,
    string
  >;
}
