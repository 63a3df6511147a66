// The Tekton Tasks fetch the CLI bundle of CLI_VERSION and refuse it unless its SHA-256 is the
// CLI_SHA256 default: after each build, write the bundle's hash and version into tekton/*.yaml
// and the Jenkins example (or, with --check, fail when stale), as the orb's sha256.txt is written.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TEKTON = join(root, 'tekton');
const JENKINSFILE = join(root, 'examples/jenkins/Jenkinsfile');

/** The Jenkinsfile with GITOPS_RELEASE_VERSION and GITOPS_RELEASE_SHA256 set. */
export function pinJenkinsfile(text, version, sha256) {
  return text
    .replace(/(GITOPS_RELEASE_VERSION = ')[^']*'/, `$1${version}'`)
    .replace(/(GITOPS_RELEASE_SHA256 = ')[^']*'/, `$1${sha256}'`);
}

/** The Task text with the CLI_VERSION and CLI_SHA256 defaults set; only those two lines change. */
export function pinTask(text, version, sha256) {
  const set = (t, name, value) =>
    t.replace(
      new RegExp(`(- name: ${name}\\n\\s+type: string\\n\\s+default: )"[^"\\n]*"`),
      `$1"${value}"`,
    );
  return set(set(text, 'CLI_VERSION', version), 'CLI_SHA256', sha256);
}

export function pinAfterBuild({ check, cli }) {
  const version = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')).version;
  const sha256 = createHash('sha256').update(cli).digest('hex');
  let ok = true;
  for (const name of readdirSync(TEKTON).filter((f) => f.endsWith('.yaml') && !f.startsWith('.'))) {
    const path = join(TEKTON, name);
    const text = readFileSync(path, 'utf8');
    const pinned = pinTask(text, version, sha256);
    if (pinned === text) continue;
    if (check) {
      console.error(
        `tekton/${name}: CLI_SHA256 is not dist/cli.cjs's: run 'pnpm build' and commit it.`,
      );
      ok = false;
    } else writeFileSync(path, pinned);
  }
  const jenkins = readFileSync(JENKINSFILE, 'utf8');
  const pinnedJenkins = pinJenkinsfile(jenkins, version, sha256);
  if (pinnedJenkins !== jenkins) {
    if (check) {
      console.error(
        "examples/jenkins/Jenkinsfile: GITOPS_RELEASE_SHA256 is not dist/cli.cjs's: run 'pnpm build'.",
      );
      ok = false;
    } else writeFileSync(JENKINSFILE, pinnedJenkins);
  }
  if (check && ok) console.log('tekton/*.yaml and the Jenkinsfile pin the CLI just built.');
  return ok;
}
