#!/usr/bin/env node
// pnpm bench:edit — set-image over a generated 5,000-file manifest repository, in one process,
// against (a) the seed pipelines' way, Python `yq -y` once per file (a 200-file sample, compared
// per file), and (b) the floor: reading and parsing the same files with the same YAML library in
// one process, editing nothing. Ratios within one run; the last line is one JSON object.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli.cjs');
const FILES = Number(process.env.BENCH_FILES ?? 5000);
const YQ_SAMPLE = Number(process.env.BENCH_YQ_SAMPLE ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const IMAGE = 'gcr.io/bench-project/app';

function deployment(i) {
  const containers = [
    `        - name: app\n          image: ${i % 3 === 0 ? IMAGE : `gcr.io/bench-project/svc-${i % 50}`}:v1  # set by CI`,
    `          ports:\n            - containerPort: 8080\n          resources:\n            limits: { cpu: 500m, memory: 256Mi }`,
  ];
  if (i % 4 === 0)
    containers.push(`        - name: sidecar\n          image: fluent/fluent-bit:3.1`);
  return `# Service ${i}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-${i}
  labels:
    app: svc-${i}
spec:
  replicas: ${1 + (i % 3)}
  selector:
    matchLabels:
      app: svc-${i}
  template:
    metadata:
      labels:
        app: svc-${i}
    spec:
${containers.join('\n')}
---
apiVersion: v1
kind: Service
metadata:
  name: svc-${i}
spec:
  selector:
    app: svc-${i}
  ports:
    - port: 80
      targetPort: 8080
`;
}

function kustomization(i) {
  return `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: env-${i % 7}
resources:
  - ../base
images:
  - name: ${i % 2 === 0 ? IMAGE : `gcr.io/bench-project/svc-${i % 50}`}
    newTag: "v1"
`;
}

function values(i) {
  return `# Values for chart ${i}
replicaCount: 2
image:
  registry: gcr.io
  repository: ${i % 2 === 0 ? 'bench-project/app' : `bench-project/svc-${i % 50}`}
  tag: "v1"
  pullPolicy: IfNotPresent
service:
  type: ClusterIP
  port: 80
ingress:
  enabled: false
  hosts:
    - host: svc-${i}.example.com
      paths: ["/"]
`;
}

const kinds = [
  {
    name: 'deployment.yaml',
    make: deployment,
    yq: '.spec.template.spec.containers[0].image |= "X"',
  },
  { name: 'kustomization.yaml', make: kustomization, yq: '.images[0].newTag |= "X"' },
  { name: 'values.yaml', make: values, yq: '.image.tag |= "X"' },
];

const dir = mkdtempSync(join(tmpdir(), 'bench-edit-'));
const tree = join(dir, 'manifests');
const paths = [];
for (let i = 0; i < FILES; i++) {
  const kind = kinds[i % kinds.length];
  const sub = join(tree, `apps/app-${Math.floor(i / 3)}`);
  mkdirSync(sub, { recursive: true });
  const path = join(sub, kind.name);
  writeFileSync(path, kind.make(i));
  paths.push({ path, kind });
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
function time(fn) {
  const start = now();
  fn();
  return now() - start;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// (b) the floor: a fresh process that reads and parses every file with the same library.
const yamlEntry = createRequire(join(root, 'packages/core/package.json')).resolve('yaml');
const floorScript = `
const fs = require('node:fs'), path = require('node:path'), YAML = require(${JSON.stringify(yamlEntry)});
function walk(d) { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
  const p = path.join(d, e.name);
  if (e.isDirectory()) walk(p); else if (/\\.ya?ml$/.test(e.name)) YAML.parseAllDocuments(fs.readFileSync(p, 'utf8'));
} }
walk(process.argv[1]);`;
const runFloor = () => execFileSync(process.execPath, ['-e', floorScript, tree]);

// Ours: one set-image process over the whole tree; alternate tags so every round edits.
let round = 0;
const runOurs = () => {
  const r = spawnSync(process.execPath, [cli, 'set-image', `${IMAGE}:r${round++}`, tree], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`set-image failed:\n${r.stderr}`);
  return r.stdout;
};

// The same run planned but not written: parse + edit, without the atomic writes.
const runDry = () => {
  const r = spawnSync(
    process.execPath,
    [cli, 'set-image', `${IMAGE}:dry`, tree, '--dry-run', '--json'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`set-image --dry-run failed:\n${r.stderr}`);
};

const first = runOurs();
const changed = Number(first.match(/Updated (\d+) image/)?.[1] ?? 0);
const ours = [];
const floor = [];
const dry = [];
for (let i = 0; i < ROUNDS; i++) {
  // Interleaved so that machine noise hits both alike.
  floor.push(time(runFloor));
  ours.push(time(runOurs));
  dry.push(time(runDry));
}

// (a) Python yq, as the seed pipeline runs it: one process per file.
const sample = paths.filter((_, i) => i % Math.floor(FILES / YQ_SAMPLE) === 0).slice(0, YQ_SAMPLE);
const hasYq = spawnSync('yq', ['--version'], { encoding: 'utf8' }).status === 0;
let yqPerFile;
if (hasYq) {
  const yqTotal = time(() => {
    for (const { path, kind } of sample) execFileSync('yq', ['-y', kind.yq, path]);
  });
  yqPerFile = yqTotal / sample.length;
}

const oursMs = median(ours);
const floorMs = median(floor);
const oursPerFile = oursMs / FILES;
const fileCount = readdirSync(join(tree, 'apps')).length;
console.log(`files: ${FILES} in ${fileCount} directories; images changed per run: ${changed}`);
console.log(
  `set-image, whole tree, one process: median ${oursMs.toFixed(0)} ms (${oursPerFile.toFixed(3)} ms/file) over ${ROUNDS} runs`,
);
console.log(`parse floor, same files, same library: median ${floorMs.toFixed(0)} ms`);
const dryMs = median(dry);
console.log(
  `set-image --dry-run (parse and edit, no writes): median ${dryMs.toFixed(0)} ms = ${(dryMs / floorMs).toFixed(2)}x the floor`,
);
if (hasYq)
  console.log(`yq -y once per file (${sample.length} files): ${yqPerFile.toFixed(1)} ms/file`);
else console.log('yq not installed (apt-get install yq): vs_yq_per_file not measured');
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    bench: 'edit',
    files: FILES,
    vs_yq_per_file: hasYq ? Number((yqPerFile / oursPerFile).toFixed(1)) : null,
    vs_parse_floor: Number((oursMs / floorMs).toFixed(2)),
  }),
);
