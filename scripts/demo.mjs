#!/usr/bin/env node
// The README's first command: sets up a manifest repository laid out like the seed articles'
// (a Deployment, a kustomization with staging and production overlays, a Helm values file),
// and an application repository, then runs the release job on them with the committed bundle:
// a release branch, a re-run, a push to main, and an older pipeline that must not win.
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

const ident = ['-c', 'user.name=demo', '-c', 'user.email=demo@example.com'];
const gitIn = (cwd, ...args) =>
  execFileSync('git', [...ident, ...args], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const say = (text) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
function run(args, cwd = work) {
  process.stdout.write(`$ gitops-release ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
  if (r.status !== 0) process.exit(r.status ?? 1);
  return r.stdout;
}

// The manifest repository, as a remote: a bare repository that CI pushes to.
for (const [path, text] of Object.entries(files)) {
  mkdirSync(join(manifests, dirname(path)), { recursive: true });
  writeFileSync(join(manifests, path), text);
}
gitIn(manifests, 'init', '-q', '-b', 'main');
gitIn(manifests, 'add', '.');
gitIn(manifests, 'commit', '-qm', 'Initial manifests');
const remote = join(work, 'manifests.git');
gitIn(work, 'clone', '-q', '--bare', manifests, remote);

// The application repository: two commits, each built into an image tagged with its short SHA.
const app = join(work, 'hello-app');
mkdirSync(app);
gitIn(app, 'init', '-q', '-b', 'main');
writeFileSync(join(app, 'main.go'), 'package main\n');
gitIn(app, 'add', '.');
gitIn(app, 'commit', '-qm', 'First version');
const older = gitIn(app, 'rev-parse', '--short=7', 'HEAD').trim();
writeFileSync(join(app, 'main.go'), 'package main\n\nfunc main() {}\n');
gitIn(app, 'commit', '-qam', 'Add main');
const newer = gitIn(app, 'rev-parse', '--short=7', 'HEAD').trim();
const image = (tag) => `gcr.io/demo-project/hello-app:${tag}`;

say(`A manifest repository like the seed articles' (${remote})`);
run(['find-images', '.'], manifests);

say(`Edit a checkout in place: set-image, as a dry run (what yq + sed did in the seeds)`);
run(['set-image', image(newer), 'overlays/staging', '--dry-run'], manifests);

say(`Release ${newer} to staging: one commit on a release branch, only the target files fetched`);
run([
  'create-release-pr',
  '--repo',
  remote,
  '--path',
  'overlays/staging',
  '--path',
  'charts/hello-app/values.yaml',
  '--image',
  image(newer),
  '--app-repo',
  app,
]);
process.stdout.write(`$ git show --stat release-${newer}\n`);
process.stdout.write(gitIn(remote, 'show', '--format=%s%n', `release-${newer}`));

say('Run it again (a re-run of the same pipeline): the same branch and commit, no duplicate');
run(['create-release-pr', '--repo', remote, '--path', 'overlays/staging', '--image', image(newer)]);

say(`Continuous deployment: push ${newer} straight onto main for staging`);
run([
  'create-release-pr',
  '--repo',
  remote,
  '--mode',
  'push',
  '--path',
  'overlays/staging',
  '--image',
  image(newer),
  '--app-repo',
  app,
]);

say(`A slower, older pipeline (${older}) finishes last: it must not overwrite ${newer}`);
run([
  'create-release-pr',
  '--repo',
  remote,
  '--mode',
  'push',
  '--path',
  'overlays/staging',
  '--image',
  image(older),
  '--app-repo',
  app,
]);

const deployed = join(work, 'deployed');
gitIn(work, 'clone', '-q', remote, deployed);
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
if (kubectl.status === 0) {
  say('What Argo CD would now deploy to staging: kubectl kustomize overlays/staging on main');
  const out = execFileSync('kubectl', ['kustomize', 'overlays/staging'], {
    cwd: deployed,
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
process.stdout.write(`$ git log --oneline main\n${gitIn(deployed, 'log', '--oneline', 'main')}`);
say(`Done. The demo repositories stay in ${work}`);
