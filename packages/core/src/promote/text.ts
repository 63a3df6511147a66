import { imageName, tryParseImageReference } from '../image/reference.js';
import { escapeMarkdown } from '../release/text.js';
import type { PromotionCandidate } from './plan.js';
import { formatVersion } from './plan.js';

function code(text: string): string {
  return `\`${text.replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
}

/** Only a plain http(s) URL is linked: it comes from the CI's environment or a flag. */
function safeUrl(url: string): string | undefined {
  return /^https?:\/\/[^\s<>()[\]`|]+$/.test(url) ? url : undefined;
}

export interface PromotionDescriptionInput {
  names: { from: string; to: string };
  paths: { from: string[]; to: string[] };
  promoted: PromotionCandidate[];
  base: string;
  readSha: string;
  pipelineUrl?: string;
}

/** The top of the promotion pull request: which environments, each image old → new, who asked. */
export function promotionDescription(input: PromotionDescriptionInput): string {
  const { names, paths } = input;
  const lines = [
    `Promotes **${escapeMarkdown(names.from)}** → **${escapeMarkdown(names.to)}**: the versions ${paths.from.map(code).join(', ')} deploys at ${code(input.readSha.slice(0, 7))} of ${code(input.base)} go into ${paths.to.map(code).join(', ')}, the same images, not a rebuild.`,
    '',
    `| Image | ${escapeMarkdown(names.to)} now | ${escapeMarkdown(names.from)} (promoted) |`,
    '| --- | --- | --- |',
  ];
  for (const c of input.promoted) {
    const now = c.toValues
      .map((v) => {
        const ref = tryParseImageReference(v);
        return code(ref ? formatVersion(ref) : v);
      })
      .join(', ');
    lines.push(`| ${code(imageName(c.image))} | ${now} | ${code(formatVersion(c.image))} |`);
  }
  const url = input.pipelineUrl && safeUrl(input.pipelineUrl);
  if (url) lines.push('', `Asked by the pipeline run ${url}`);
  return lines.join('\n');
}
