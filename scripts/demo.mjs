#!/usr/bin/env node
// The README's first command: sets up a manifest repository laid out like the seed articles'
// (a Deployment, a kustomization with staging and production overlays, a Helm values file),
// then runs the release job on it with the committed bundle, and shows what changed.
// Needs only Node and git; renders with `kubectl kustomize` when kubectl is installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.cjs');
const work = mkdtempSync(join(tmpdir(), 'gitops-release-demo-'));
const manifests = join(work, 'manifests');

const files = {
  'base/deployment.yaml': `# The application, as Argo CD deploys it.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello-app
  labels:
    app: hello-app
spec:
  replicas: 2
  selector:
    matchLabels:
      app: hello-app
  template:
    metadata:
      labels:
        app: hello-app
    spec:
      containers:
        - name: hello-app
          image: gcr.io/demo-project/hello-app:1a2b3c4   # set by CI, do not edit by hand
          ports:
            - containerPort: 8080
        - name: log-shipper
          image: fluent/fluent-bit:3.1
`,
  'base/service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: hello-app
spec:
  selector:
    app: hello-app
  ports:
    - port: 80
      targetPort: 8080
`,
  'base/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
  - service.yaml
`,
  'overlays/staging/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: staging
resources:
  - ../../base

# CI moves this tag on every merge to main.
images:
  - name: gcr.io/demo-project/hello-app
    newTag: "1a2b3c4"
`,
  'overlays/production/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: production
resources:
  - ../../base
images:
  - name: gcr.io/demo-project/hello-app
    newTag: '0f9e8d7'  # promoted by pull request
`,
  'charts/hello-app/values.yaml': `# Helm values for the same application.
replicaCount: 2

image:
  registry: gcr.io
  repository: demo-project/hello-app
  tag: "1a2b3c4"
  pullPolicy: IfNotPresent
`,
};

const git = (...args) =>
  execFileSync('git', args, {
    cwd: manifests,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const say = (text) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
function run(args) {
  process.stdout.write(`$ gitops-release ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: manifests, encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

for (const [path, text] of Object.entries(files)) {
  mkdirSync(join(manifests, dirname(path)), { recursive: true });
  writeFileSync(join(manifests, path), text);
}
git('init', '-q', '-b', 'main');
git('-c', 'user.name=demo', '-c', 'user.email=demo@example.com', 'add', '.');
git(
  '-c',
  'user.name=demo',
  '-c',
  'user.email=demo@example.com',
  'commit',
  '-qm',
  'Initial manifests',
);

// The new build: in CI this is the application commit's short SHA.
const tag = 'e5f6a7b';
const image = `gcr.io/demo-project/hello-app:${tag}`;

say(`A manifest repository like the seed articles' at ${manifests}`);
run(['find-images', '.']);

say('Release to staging: what would change (dry run)');
run(['set-image', image, 'overlays/staging', '--dry-run']);

say('Release to staging and the Helm chart');
run(['set-image', image, 'overlays/staging', 'charts/hello-app/values.yaml']);
process.stdout.write(`$ git diff\n${git('diff')}`);

say('Run again: nothing to do');
run(['set-image', image, 'overlays/staging', 'charts/hello-app/values.yaml']);

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
if (kubectl.status === 0) {
  say('What Argo CD would deploy to staging (kubectl kustomize overlays/staging)');
  const out = execFileSync('kubectl', ['kustomize', 'overlays/staging'], {
    cwd: manifests,
    encoding: 'utf8',
  });
  process.stdout.write(
    out
      .split('\n')
      .filter((l) => /image:|namespace:|kind:/.test(l))
      .join('\n'),
  );
  process.stdout.write('\n');
} else {
  say('kubectl is not installed; skipping the render (apt-get install kubectl to see it)');
}
say(`Done. The demo repository stays at ${manifests}`);
