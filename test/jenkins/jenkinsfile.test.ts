// The Jenkins example: linted with npm-groovy-lint (CodeNarc's Jenkinsfile rules), and its shell
// steps run in stage order the way a Jenkins agent runs them: the environment block and the
// credentials as variables, GIT_COMMIT from the git plugin, against a registry on a LAN address
// with the test's CA and a manifest repository behind git http-backend.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_DOCKERFILE, makeContext } from '../build/context.js';
import { type DaemonlessStorage, daemonlessStorage } from '../build/daemonless.js';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import { createNetns, type TestNetns } from '../support/netns.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { createTestCa, type TestCa } from '../support/test-ca.js';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const JENKINSFILE = join(ROOT, 'examples/jenkins/Jenkinsfile');
const ROBOT = 'robot$project+ci';
const ROBOT_SECRET = 'Harbor-r0bot-$ecret-2024';
const TOKEN = 'jenkins-manifest-token';

/** Problems per file; one run for several files, as the JVM start is most of the cost. */
async function groovyLint(files: string[]) {
  const { stdout } = await exec(
    join(ROOT, 'node_modules/.bin/npm-groovy-lint'),
    [
      '--noserver',
      '--output',
      'json',
      '--config',
      join(ROOT, 'examples/jenkins/.groovylintrc.json'),
      ...files,
    ],
    { cwd: ROOT },
  ).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
  const report = JSON.parse(stdout) as {
    files: Record<string, { errors: { severity: string; rule: string; msg: string }[] }>;
  };
  return (file: string) => report.files[file]?.errors ?? [];
}

/** The environment block's variables, `${VAR}` expanded from the ones before, as Jenkins does. */
function environmentOf(text: string): Record<string, string> {
  const block = text.slice(text.indexOf('environment {'), text.indexOf('stages {'));
  const env: Record<string, string> = {};
  for (const m of block.matchAll(/^\s*(\w+) = (?:'([^']*)'|"([^"]*)")/gm)) {
    env[m[1]!] = m[2] ?? m[3]!.replace(/\$\{(\w+)\}/g, (_, n: string) => env[n] ?? '');
  }
  return env;
}

/** Each stage's shell steps, in order. */
function stagesOf(text: string): { name: string; scripts: string[] }[] {
  return text
    .split(/\n\s*stage\('/)
    .slice(1)
    .map((part) => ({
      name: part.slice(0, part.indexOf("'")),
      scripts: [...part.matchAll(/sh '''([\s\S]*?)'''|sh '([^'\n]*)'/g)].map((m) => m[1] ?? m[2]!),
    }));
}

describe('examples/jenkins/Jenkinsfile', () => {
  // One JVM run for both files (its start is most of the cost, and slow on a busy machine); both
  // under one directory, since the linter scans the files' common directory.
  it('passes npm-groovy-lint’s Jenkinsfile rules; a broken copy does not', {
    timeout: 300_000,
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gr-jenkins-'));
    const text = await readFile(JENKINSFILE, 'utf8');
    const good = join(dir, 'good', 'Jenkinsfile');
    const broken = join(dir, 'broken', 'Jenkinsfile');
    execFileSync('mkdir', ['-p', join(dir, 'good'), join(dir, 'broken')]);
    await writeFile(good, text);
    await writeFile(broken, text.replace("stage('Test') {", "stage('Test') {{"));
    const problems = await groovyLint([good, broken]);
    await rm(dir, { recursive: true, force: true });
    expect(problems(good)).toEqual([]);
    expect(problems(broken).some((p) => p.severity === 'error')).toBe(true);
  });

  describe('its shell steps, run as a Jenkins agent runs them', () => {
    let netns: TestNetns;
    let ca: TestCa;
    let registry: TestRegistry;
    let storage: DaemonlessStorage;
    let git: GitHttpServer;
    let gitRoot: string;
    let workspace: string;
    let cliServer: Server;
    let env: Record<string, string | undefined>;
    let commit: string;

    beforeAll(async () => {
      [netns, ca, storage] = await Promise.all([
        createNetns(),
        createTestCa(),
        daemonlessStorage(),
      ]);
      registry = await startRegistry('htpasswd', {
        netns,
        tls: { ...(await ca.serverCertificate(netns.address)), caPem: ca.caPem },
        user: { name: ROBOT, password: ROBOT_SECRET },
      });
      gitRoot = await mkdtemp(join(tmpdir(), 'gr-jenkins-git-'));
      git = await startGitHttpServer({ root: gitRoot, token: TOKEN });
      const seed = await mkdtemp(join(tmpdir(), 'gr-jenkins-seed-'));
      const gitc = (cwd: string, ...a: string[]) =>
        execFileSync('git', ['-c', 'user.name=j', '-c', 'user.email=j@example.com', ...a], {
          cwd,
          encoding: 'utf8',
        }).trim();
      gitc(seed, 'init', '-q', '-b', 'main');
      await execFileSync('mkdir', ['-p', join(seed, 'go-sampleapp')]);
      await writeFile(
        join(seed, 'go-sampleapp/pod.yaml'),
        `apiVersion: v1\nkind: Pod\nmetadata:\n  name: go-sampleapp\nspec:\n  containers:\n  - name: go-sampleapp\n    image: ${registry.host}/demo-ns/go-sampleapp:0000000\n`,
      );
      gitc(seed, 'add', '.');
      gitc(seed, 'commit', '-q', '-m', 'first');
      gitc(gitRoot, 'clone', '-q', '--bare', seed, 'manifests.git');
      await rm(seed, { recursive: true, force: true });

      // The job's checkout: the application, one commit; the git plugin exports GIT_COMMIT.
      workspace = await makeContext(BUSYBOX_DOCKERFILE, { 'app.txt': 'jenkins\n' });
      gitc(workspace, 'init', '-q', '-b', 'main');
      gitc(workspace, 'add', '.');
      gitc(workspace, 'commit', '-q', '-m', 'app');
      commit = gitc(workspace, 'rev-parse', 'HEAD');
      const caFile = join(workspace, '..', `harbor-ca-${Date.now()}.pem`);
      await writeFile(caFile, ca.caPem);

      const bundle = await readFile(join(ROOT, 'dist/cli.cjs'));
      cliServer = createServer((_req, res) => res.end(bundle));
      await new Promise<void>((r) => cliServer.listen(0, '127.0.0.1', r));
      const address = cliServer.address();
      const port = typeof address === 'object' && address ? address.port : 0;

      env = {
        ...storage.env,
        PATH: process.env.PATH,
        HOME: workspace,
        ...environmentOf(await readFile(JENKINSFILE, 'utf8')),
        // What the job changes for this test: where things are (a mirror of the release asset).
        GITOPS_RELEASE_URL: `http://127.0.0.1:${port}/cli.cjs`,
        IMAGE: `${registry.host}/demo-ns/go-sampleapp`,
        MANIFEST_REPO: `${git.url}/manifests.git`,
        GIT_COMMIT: commit,
        // withCredentials: usernamePassword, file and string credentials.
        HARBOR_USER: ROBOT,
        HARBOR_PASSWORD: ROBOT_SECRET,
        HARBOR_CA: caFile,
        MANIFEST_TOKEN: TOKEN,
      };
    });

    afterAll(async () => {
      await registry?.stop();
      await netns?.dispose();
      await ca?.dispose();
      await storage?.dispose();
      await git?.close();
      await new Promise((r) => (cliServer ? cliServer.close(r) : r(undefined)));
      for (const d of [gitRoot, workspace]) if (d) await rm(d, { recursive: true, force: true });
    });

    it('fetches the pinned CLI, builds and pushes with the robot account, pushes the tag onto main', async () => {
      const stages = stagesOf(await readFile(JENKINSFILE, 'utf8'));
      expect(stages.map((s) => s.name)).toEqual([
        'Test',
        'Fetch gitops-release',
        'Build and push',
        'Update manifest',
      ]);
      // The Test stage is the application's own (go test); this application has none.
      for (const stage of stages.slice(1))
        for (const script of stage.scripts) {
          const r = await exec('bash', ['-eu', '-c', script], { cwd: workspace, env }).catch(
            (e) => e,
          );
          expect(r.code ?? 0, `${stage.name}:\n${r.stdout}\n${r.stderr}`).toBe(0);
          expect(`${r.stdout}${r.stderr}`).not.toContain(ROBOT_SECRET);
        }
      const tag = commit.slice(0, 7);
      await registry.manifest('demo-ns/go-sampleapp', tag);
      const pod = execFileSync(
        'git',
        ['--git-dir', join(gitRoot, 'manifests.git'), 'show', 'main:go-sampleapp/pod.yaml'],
        {
          encoding: 'utf8',
        },
      );
      expect(pod).toContain(`image: ${registry.host}/demo-ns/go-sampleapp:${tag}`);
      const subject = execFileSync(
        'git',
        ['--git-dir', join(gitRoot, 'manifests.git'), 'log', '-1', '--format=%s', 'main'],
        {
          encoding: 'utf8',
        },
      ).trim();
      expect(subject).toBe(`Update go-sampleapp to ${tag}`);
    });
  });
});
