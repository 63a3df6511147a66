// Builds small manifest repositories for the release tests: a working repo committed with real
// git, then a bare copy configured as GitHub serves (partial clone filters allowed).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export function git(args: string[], cwd: string): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'test',
      GIT_AUTHOR_EMAIL: 'test@example.test',
      GIT_COMMITTER_NAME: 'test',
      GIT_COMMITTER_EMAIL: 'test@example.test',
    },
  });
}

export interface ManifestRepo {
  /** Directory holding `<name>.git`. */
  root: string;
  /** The bare repository. */
  bare: string;
  name: string;
  /** `git show BRANCH:PATH` in the bare repository. */
  show(branch: string, path: string): string;
  /** Branch names. */
  branches(): string[];
  /** Commits on a branch, newest first (sha). */
  log(branch: string): string[];
  /** Commits a change onto a branch of the bare repo, as another writer would. */
  commitAs(branch: string, path: string, text: string): string;
}

export function createManifestRepo(
  files: Record<string, string>,
  name = 'manifests',
): ManifestRepo {
  const root = mkdtempSync(join(tmpdir(), 'release-test-'));
  const work = join(root, 'work');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    writeFileSync(join(work, path), text);
  }
  git(['init', '-q', '-b', 'main'], work);
  git(['add', '.'], work);
  git(['commit', '-q', '-m', 'Initial manifests'], work);
  const bare = join(root, 'repos', `${name}.git`);
  mkdirSync(dirname(bare), { recursive: true });
  git(['clone', '-q', '--bare', work, bare], root);
  // What GitHub's servers allow: partial clone filters and fetching objects by id.
  git(['config', 'uploadpack.allowFilter', 'true'], bare);
  git(['config', 'uploadpack.allowAnySHA1InWant', 'true'], bare);
  git(['config', 'http.receivepack', 'true'], bare);
  return {
    root: join(root, 'repos'),
    bare,
    name,
    show: (branch, path) => git(['show', `${branch}:${path}`], bare),
    branches: () =>
      git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/'], bare)
        .split('\n')
        .filter(Boolean),
    log: (branch) => git(['rev-list', branch], bare).split('\n').filter(Boolean),
    commitAs(branch, path, text) {
      git(
        ['fetch', '-q', '--update-head-ok', bare, `+refs/heads/${branch}:refs/heads/${branch}`],
        work,
      );
      git(['checkout', '-q', '-f', branch], work);
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), text);
      git(['add', path], work);
      git(['commit', '-q', '-m', `Another writer changes ${path}`], work);
      git(['push', '-q', bare, `${branch}:refs/heads/${branch}`], work);
      return git(['rev-parse', 'HEAD'], work).trim();
    },
  };
}

/** A Deployment with one container per image. */
export function deployment(name: string, images: string[]): string {
  const containers = images
    .map((image, i) => `        - name: c${i}\n          image: ${image} # keep this comment\n`)
    .join('');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
${containers}`;
}

export function kustomization(
  resources: string[],
  images: { name: string; newTag: string }[],
): string {
  return `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
${resources.map((r) => `  - ${r}`).join('\n')}
images:
${images.map((i) => `  - name: ${i.name}\n    newTag: ${i.newTag}`).join('\n')}
`;
}

/** Renders a directory of a branch with `kubectl kustomize`, as Argo CD would. */
export function kustomizeBranch(repo: ManifestRepo, branch: string, dir: string): string {
  const out = mkdtempSync(join(tmpdir(), 'kustomize-'));
  git(['clone', '-q', '--branch', branch, repo.bare, out], tmpdir());
  return execFileSync('kubectl', ['kustomize', join(out, dir)], { encoding: 'utf8' });
}
