#!/usr/bin/env node
// pnpm bench:edit — set-image on real workloads: Deployments with init containers and sidecars
// (multi-document, with their Service), kustomizations and Helm values files, every one of which
// deploys the released image once, so every file scanned is a file edited (checked each run).
//
// Contenders, interleaved within each measurement:
// - one release (the pipeline's real job: one app directory, three files) as whole processes:
//   `set-image` against Python yq run once per file with `-i` (the seed pipelines' way, its result
//   parsed and checked), and against `node -e 0`;
// - a whole tree of 100, 1,000 and 10,000 files: `set-image` against the parse-and-write floor, a
//   bundled script that walks the same tree, parses every file with the same YAML library call
//   and writes every edited file's bytes the same way (temporary file, then rename) — all but the
//   edit itself;
// - peak memory of set-image on the largest tree.
//
// Options: --files 100,1000,10000 --runs 3 --release-runs 10 --yq-sample 30
// Last line: {"bench":"edit","one_release_vs_bare_node":X,"vs_parse_write_floor":Y,
//   "vs_yq_per_edited_file":Z,"peak_rss_mib":M,…}
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { parseAllDocuments } from 'yaml';
import {
  interleaved,
  listOption,
  load,
  log,
  option,
  peakRssMiB,
  ratio,
  report,
  root,
  run,
  stats,
  timed,
} from './bench-lib.mjs';

const SIZES = listOption('files', [100, 1000, 10_000]);
const RUNS = option('runs', 3);
const RELEASE_RUNS = option('release-runs', 10);
const YQ_SAMPLE = option('yq-sample', 30);
const CLI = join(root, 'dist', 'cli.cjs');
const IMAGE = 'gcr.io/bench-project/app';

const deployment = (i, tag) => `# Service ${i}: the app, a migration init container, a log sidecar
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-${i}
  labels: {app: svc-${i}}
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
      initContainers:
        - name: migrate
          image: gcr.io/bench-project/migrate-${i % 20}:v3
          args: ["--up"]
      containers:
        - name: log-shipper
          image: fluent/fluent-bit:3.1
        - name: app
          image: ${IMAGE}:${tag}  # set by CI
          ports:
            - containerPort: 8080
          resources:
            limits: { cpu: 500m, memory: 256Mi }
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

const kustomization = (i, tag) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: env-${i % 7}
resources:
  - deployment.yaml
images:
  - name: gcr.io/bench-project/migrate-${i % 20}
    newTag: v3
  - name: ${IMAGE}
    newTag: "${tag}"
`;

const values = (i, tag) => `# Values for chart ${i}
replicaCount: 2
image:
  registry: gcr.io
  repository: bench-project/app
  tag: "${tag}"
  pullPolicy: IfNotPresent
migrations:
  image:
    repository: gcr.io/bench-project/migrate-${i % 20}
    tag: v3
service:
  type: ClusterIP
  port: 80
ingress:
  enabled: false
  hosts:
    - host: svc-${i}.example.com
      paths: ["/"]
`;

// What the seed pipelines run per file (Python yq, jq syntax), and where to check the result.
const kinds = [
  {
    name: 'deployment.yaml',
    make: deployment,
    yq: (tag) =>
      `if .kind == "Deployment" then .spec.template.spec.containers[1].image = "${IMAGE}:${tag}" else . end`,
    value: (docs) => docs[0].spec.template.spec.containers[1].image.split(':')[1],
  },
  {
    name: 'kustomization.yaml',
    make: kustomization,
    yq: (tag) => `.images[1].newTag = "${tag}"`,
    value: (docs) => docs[0].images[1].newTag,
  },
  {
    name: 'values.yaml',
    make: values,
    yq: (tag) => `.image.tag = "${tag}"`,
    value: (docs) => docs[0].image.tag,
  },
];

const work = mkdtempSync(join(tmpdir(), 'bench-edit-'));

/** A tree of `count` files (whole app directories of three), each deploying IMAGE once. */
function makeTree(count) {
  const tree = join(work, `tree-${count}`);
  const files = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length];
    const dir = join(tree, `apps/app-${Math.floor(i / kinds.length)}`);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, kind.name);
    writeFileSync(path, kind.make(i, 'v0'));
    files.push({ path, kind });
  }
  return { tree, files };
}

/** Every file holds `tag` where the image is deployed (parsed, not grepped). */
function verify(files, tag, who) {
  for (const { path, kind } of files) {
    const docs = parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS());
    const got = kind.value(docs);
    if (got !== tag) throw new Error(`${who}: ${path} holds ${got}, not ${tag}`);
  }
}

// The floor, bundled like the CLI (one file, same library): walk, read, parse every file, and
// write each file that deploys the image (its name is in the text) back through a temporary file and a rename.
const floorSource = join(work, 'floor.mjs');
writeFileSync(
  floorSource,
  `import { readdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
const name = process.argv[3];
const writes = [];
function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\\.ya?ml$/.test(e.name)) {
      const text = readFileSync(p, 'utf8');
      parseAllDocuments(text);
      if (text.includes(name)) writes.push({ dir, name: e.name, path: p, text });
    }
  }
}
// As @gitops-release/fs writes: eight at a time, each to a temporary file beside its target
// (opened 'wx', written, chmod, closed), then every rename, eight at a time.
async function eightAtATime(items, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}
walk(process.argv[2]);
(async () => {
  await eightAtATime(writes, async (w) => {
    w.temp = join(w.dir, '.' + w.name + '.floor.tmp');
    const handle = await open(w.temp, 'wx', 0o644);
    await handle.writeFile(w.text, 'utf8');
    await handle.chmod(0o644);
    await handle.close();
  });
  await eightAtATime(writes, (w) => rename(w.temp, w.path));
  process.stdout.write(String(writes.length));
})();
`,
);
const floorBundle = join(work, 'floor.cjs');
await esbuild.build({
  absWorkingDir: root,
  entryPoints: [floorSource],
  outfile: floorBundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  minify: true,
  nodePaths: [join(root, 'packages/core/node_modules')],
  logLevel: 'warning',
});

let serial = 0;
const nextTag = () => `r${(serial++).toString(36).padStart(5, '0')}`;

async function setImage(target, files) {
  const tag = nextTag();
  const ms = await timed(() =>
    run(process.execPath, [CLI, 'set-image', `${IMAGE}:${tag}`, target]),
  );
  verify(files, tag, 'set-image');
  return ms;
}

// 1. One release: one app directory of three files, as whole processes.
const release = makeTree(kinds.length);
const releaseDir = join(release.tree, 'apps/app-0');
const loadRelease = load();
const releaseTimes = await interleaved(['ours', 'yq', 'node'], RELEASE_RUNS, async (name) => {
  if (name === 'ours') return setImage(releaseDir, release.files);
  if (name === 'node') return timed(() => run(process.execPath, ['-e', '0']));
  const tag = nextTag();
  const ms = await timed(async () => {
    for (const { path, kind } of release.files) await run('yq', ['-y', '-i', kind.yq(tag), path]);
  });
  verify(release.files, tag, 'yq -i');
  return ms;
});
const releaseStats = Object.fromEntries(
  Object.entries(releaseTimes).map(([k, v]) => [k, stats(v)]),
);
log(
  `one release (3 files): set-image ${releaseStats.ours.median_ms} ms [${releaseStats.ours.min_ms}–${releaseStats.ours.max_ms}], ` +
    `yq -i ×3 ${releaseStats.yq.median_ms} ms, node -e 0 ${releaseStats.node.median_ms} ms (load ${loadRelease} → ${load()})`,
);

// 2. Whole trees against the floor.
const scaling = [];
let largest;
for (const size of SIZES) {
  const { tree, files } = makeTree(size);
  const loadBefore = load();
  const times = await interleaved(['ours', 'floor'], RUNS, async (name) => {
    if (name === 'ours') return setImage(tree, files);
    let written = '';
    const ms = await timed(async () => {
      written = (await run(process.execPath, [floorBundle, tree, 'bench-project/app'])).stdout;
    });
    if (Number(written) !== files.length)
      throw new Error(`floor wrote ${written} of ${files.length}`);
    return ms;
  });
  const ours = stats(times.ours);
  const floor = stats(times.floor);
  scaling.push({
    files: size,
    edited: files.length,
    set_image: ours,
    floor,
    ms_per_file: Math.round((ours.median_ms / size) * 1000) / 1000,
    vs_floor: ratio(ours.median_ms, floor.median_ms),
    loadavg: [loadBefore, load()],
  });
  log(
    `${size} files: set-image ${ours.median_ms} ms [${ours.min_ms}–${ours.max_ms}], floor ${floor.median_ms} ms [${floor.min_ms}–${floor.max_ms}] (load ${loadBefore} → ${load()})`,
  );
  largest = { size, tree, files, ours };
}

// 3. Python yq per edited file, on a sample of the largest tree (every file there is edited).
const step = Math.max(1, Math.floor(largest.files.length / YQ_SAMPLE));
const sample = largest.files.filter((_, i) => i % step === 0).slice(0, YQ_SAMPLE);
const yqTag = nextTag();
const yqMs = await timed(async () => {
  for (const { path, kind } of sample) await run('yq', ['-y', '-i', kind.yq(yqTag), path]);
});
verify(sample, yqTag, 'yq -i');
const yqPerFile = yqMs / sample.length;
const oursPerFile = largest.ours.median_ms / largest.files.length;
log(
  `yq -y -i once per file: ${yqPerFile.toFixed(1)} ms/file (${sample.length} files); set-image ${oursPerFile.toFixed(3)} ms per edited file`,
);

const peak = await peakRssMiB([CLI, 'set-image', `${IMAGE}:${nextTag()}`, largest.tree]);
rmSync(work, { recursive: true, force: true });

const head = scaling.at(-1);
report({
  bench: 'edit',
  one_release_ms: releaseStats.ours.median_ms,
  one_release_vs_yq: ratio(releaseStats.yq.median_ms, releaseStats.ours.median_ms),
  one_release_vs_bare_node: ratio(releaseStats.ours.median_ms, releaseStats.node.median_ms),
  vs_parse_write_floor: head.vs_floor,
  vs_yq_per_edited_file: Math.round(yqPerFile / oursPerFile),
  peak_rss_mib: peak,
  files: head.files,
  one_release: releaseStats,
  scaling,
});
