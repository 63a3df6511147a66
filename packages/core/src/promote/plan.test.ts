import { describe, expect, it } from 'vitest';
import { PromotionRefusedError, UsageError } from '../errors.js';
import { parseImageReference } from '../image/reference.js';
import type { ManifestFile } from '../manifest/types.js';
import {
  checkEnvironmentPaths,
  environmentNames,
  planPromotionEdits,
  readEnvironment,
  selectPromotion,
} from './plan.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

const kustomization = (images: string) =>
  `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\nimages:\n${images}`;
const values = (tag: string) =>
  `# production values\nimage:\n  repository: gcr.io/p/api\n  tag: ${tag} # promoted by CI\n`;

function env(files: Record<string, string>): ManifestFile[] {
  return Object.entries(files).map(([path, text]) => ({ path, text }));
}

function refusal(fn: () => unknown): PromotionRefusedError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PromotionRefusedError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const staging = env({
  'staging/kustomization.yaml': kustomization(
    `  - name: gcr.io/p/web\n    newTag: abc1234\n    digest: ${DIGEST}\n`,
  ),
  'staging/values.yaml': values('"1234567"'),
});
const production = env({
  'production/kustomization.yaml': kustomization('  - name: gcr.io/p/web\n    newTag: old0000\n'),
  'production/values.yaml': values('v0'),
});

describe('selectPromotion', () => {
  it('takes tag and digest of every image both environments deploy, in the shape --to uses', () => {
    const candidates = selectPromotion(readEnvironment(staging), readEnvironment(production));
    expect(candidates.map((c) => c.fromValue)).toEqual([
      `gcr.io/p/web:abc1234@${DIGEST}`,
      'gcr.io/p/api:1234567',
    ]);
    const { promoted, plan } = planPromotionEdits(production, candidates);
    expect(promoted).toHaveLength(2);
    const texts = Object.fromEntries(plan.edits.map((e) => [e.path, e.after]));
    expect(texts['production/kustomization.yaml']).toContain(
      `newTag: abc1234\n    digest: ${DIGEST}\n`,
    );
    // A short SHA YAML would read as a number is written quoted; the comment stays.
    expect(texts['production/values.yaml']).toBe(
      '# production values\nimage:\n  repository: gcr.io/p/api\n  tag: "1234567" # promoted by CI\n',
    );
  });

  it('promotes nothing when the versions are equal', () => {
    const same = env({ 'p/values.yaml': values('"1234567"') });
    const c = selectPromotion(readEnvironment(staging), readEnvironment(same));
    expect(planPromotionEdits(same, c).promoted).toEqual([]);
  });

  it('--expect refuses a version --from no longer deploys, and accepts the one it does', () => {
    const from = readEnvironment(staging);
    const to = readEnvironment(production);
    const r = refusal(() =>
      selectPromotion(from, to, { expect: [parseImageReference('gcr.io/p/web:9999999')] }),
    );
    expect(r.reason).toBe('expect-mismatch');
    expect(r.message).toContain(`now deploys gcr.io/p/web:abc1234@${DIGEST}`);
    expect(
      selectPromotion(from, to, {
        expect: [parseImageReference(`gcr.io/p/web:abc1234@${DIGEST}`)],
      }),
    ).toHaveLength(2);
    const wrongDigest = `sha256:${'cd'.repeat(32)}`;
    expect(
      refusal(() =>
        selectPromotion(from, to, {
          expect: [parseImageReference(`gcr.io/p/web:abc1234@${wrongDigest}`)],
        }),
      ).reason,
    ).toBe('expect-mismatch');
  });

  it('refuses an image --from does not deploy, or states as a template', () => {
    const to = readEnvironment(production);
    const r = refusal(() =>
      selectPromotion(readEnvironment(staging), to, {
        images: [parseImageReference('gcr.io/p/worker')],
      }),
    );
    expect(r.reason).toBe('not-deployed');
    expect(r.message).toContain('--from does not deploy gcr.io/p/worker');
    expect(r.message).toContain('gcr.io/p/web:abc1234');

    const templated = env({
      's/values.yaml': 'image:\n  repository: gcr.io/p/api\n  tag: "{{ .Values.global.tag }}"\n',
    });
    const t = refusal(() => selectPromotion(readEnvironment(templated), to));
    expect(t.reason).toBe('uneditable');
    expect(t.message).toContain('s/values.yaml:3');
  });

  it('refuses an image --from deploys twice with different versions', () => {
    const twice = env({
      'a/values.yaml': values('v1'),
      'a/other.yaml': values('v2'),
    });
    const r = refusal(() => selectPromotion(readEnvironment(twice), readEnvironment(production)));
    expect(r.reason).toBe('ambiguous');
    expect(r.message).toMatch(/a\/values\.yaml:4.*a\/other\.yaml:4/);
  });

  it('lets a kustomization entry win over the untagged workload it patches', () => {
    const overlay = env({
      's/kustomization.yaml': kustomization('  - name: gcr.io/p/web\n    newTag: abc1234\n'),
      's/deploy.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: gcr.io/p/web:base\n',
    });
    const [c] = selectPromotion(readEnvironment(overlay), readEnvironment(production));
    expect(c?.fromValue).toBe('gcr.io/p/web:abc1234');
  });

  it('--image takes a name only', () => {
    expect(() =>
      selectPromotion(readEnvironment(staging), readEnvironment(production), {
        images: [parseImageReference('gcr.io/p/web:abc1234')],
      }),
    ).toThrow(UsageError);
  });
});

describe('environment paths', () => {
  it('refuses the same or overlapping paths, and names the environments by what differs', () => {
    expect(() => checkEnvironmentPaths(['overlays/staging/'], ['./overlays/staging'])).toThrow(
      /same path/,
    );
    expect(() => checkEnvironmentPaths(['overlays'], ['overlays/production'])).toThrow(/overlap/);
    expect(environmentNames('overlays/staging', 'overlays/production')).toEqual({
      from: 'staging',
      to: 'production',
    });
    expect(environmentNames('env/stg/values.yaml', 'env/prd/values.yaml')).toEqual({
      from: 'stg',
      to: 'prd',
    });
    expect(environmentNames('values-staging.yaml', 'values-prod.yaml')).toEqual({
      from: 'values-staging',
      to: 'values-prod',
    });
  });
});
