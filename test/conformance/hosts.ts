// The hosts the conformance suite runs against, each behind the same handle: the GitHub
// simulator, the GitLab simulator, and plain git over `git http-backend`. A handle makes a
// manifest repository, builds the product's GitHost for it, and lets a test act as another
// writer or as the person who merges.
import { execFileSync } from 'node:child_process';
import type { GitHost } from '../../packages/core/src/index.js';
import { createGitHost } from '../../packages/git/src/index.js';
import { createGitHubHost } from '../../packages/github/src/index.js';
import { createGitLabHost } from '../../packages/gitlab/src/index.js';
import { type GitHubSimulator, startGitHubSimulator } from '../github-sim/index.js';
import { type GitLabSimulator, startGitLabSimulator } from '../gitlab-sim/index.js';
import { type GitHttpServer, startGitHttpServer } from '../support/git-http-server.js';
import { createManifestRepo, git } from '../support/manifest-repo.js';

export interface OpenRequest {
  number: number;
  head: string;
  base: string;
  body: string;
}

export interface RepoHandle {
  /** The product's host for this repository; `readOnly` credentials may read but not write. */
  host(credentials?: 'write' | 'readOnly'): GitHost;
  readFile(branch: string, path: string): Promise<string | undefined>;
  branches(): Promise<string[]>;
  /** Another writer commits `files` onto `branch`. */
  commitAs(branch: string, files: Record<string, string>): Promise<string>;
  /** Open pull / merge requests (none on plain git). */
  openRequests(): OpenRequest[];
  /** A person merges the release of `branch` (plain git: merges it into the base and deletes it). */
  mergeRelease(branch: string): Promise<void>;
  /** Requests that tried to change the repository since the last reset. */
  writeAttempts(): number;
  resetCounts(): void;
}

export interface AppRepo {
  /** As --app-repo takes it on this host. */
  repository: string;
  /** Commits, oldest first. */
  shas: string[];
}

export interface HostUnderTest {
  name: 'github' | 'gitlab' | 'git';
  supportsPullRequests: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  createRepo(files: Record<string, string>): Promise<RepoHandle>;
  /** An application repository on the same host with `commits` commits after the first. */
  createAppRepo(commits: number): Promise<AppRepo>;
}

const disposers: (() => Promise<void>)[] = [];
let serial = 0;

function github(): HostUnderTest {
  let sim: GitHubSimulator;
  return {
    name: 'github',
    supportsPullRequests: true,
    async start() {
      sim = await startGitHubSimulator();
    },
    stop: () => sim.close(),
    async createRepo(files) {
      const name = `acme/conformance-${++serial}`;
      await sim.createRepo(name, files);
      let since = sim.requests.length;
      return {
        host: (credentials = 'write') =>
          createGitHubHost({
            repository: name,
            token: credentials === 'write' ? sim.tokens.write : sim.tokens.readOnly,
            baseUrl: sim.url,
            api: 'graphql',
            retryBaseMs: 1,
          }),
        readFile: (branch, path) => sim.readFile(name, branch, path),
        branches: async () =>
          git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/'], sim.repoPath(name))
            .split('\n')
            .filter(Boolean),
        commitAs: (branch, changes) => sim.commit(name, branch, changes, 'Another writer'),
        openRequests: () =>
          sim
            .pullRequests(name)
            .filter((p) => p.state === 'open')
            .map((p) => ({ number: p.number, head: p.head, base: p.base, body: p.body ?? '' })),
        async mergeRelease(branch) {
          const pr = sim.pullRequests(name).find((p) => p.state === 'open' && p.head === branch);
          if (!pr) throw new Error(`no open pull request from ${branch}`);
          await sim.mergePullRequest(name, pr.number);
        },
        writeAttempts: () => sim.requests.slice(since).filter((q) => q.write).length,
        resetCounts() {
          since = sim.requests.length;
        },
      };
    },
    async createAppRepo(commits) {
      const name = `acme/app-${++serial}`;
      await sim.createRepo(name, { 'README.md': 'app\n' });
      const shas: string[] = [];
      for (let i = 0; i < commits; i++)
        shas.push(await sim.commit(name, 'main', { 'a.txt': `${i}` }, `Change ${i}`));
      return { repository: name, shas };
    },
  };
}

function gitlab(): HostUnderTest {
  let sim: GitLabSimulator;
  return {
    name: 'gitlab',
    supportsPullRequests: true,
    async start() {
      sim = await startGitLabSimulator();
    },
    stop: () => sim.close(),
    async createRepo(files) {
      const name = `acme/platform/conformance-${++serial}`;
      await sim.createProject(name, files);
      // Push mode writes onto the default branch; GitLab protects it for Maintainers by default,
      // and these tests release with a Developer's token.
      sim.unprotectBranch(name, 'main');
      let since = sim.requests.length;
      return {
        host: (credentials = 'write') =>
          createGitLabHost({
            project: name,
            token: credentials === 'write' ? sim.tokens.write : sim.tokens.readOnly,
            url: sim.url,
            retryBaseMs: 1,
            autoMergeWaitsMs: [],
          }),
        readFile: (branch, path) => sim.readFile(name, branch, path),
        branches: () => sim.branches(name),
        commitAs: (branch, changes) => sim.commit(name, branch, changes, 'Another writer'),
        openRequests: () =>
          sim
            .mergeRequests(name)
            .filter((m) => m.state === 'opened')
            .map((m) => ({ number: m.iid, head: m.source, base: m.target, body: m.description })),
        async mergeRelease(branch) {
          const mr = sim
            .mergeRequests(name)
            .find((m) => m.state === 'opened' && m.source === branch);
          if (!mr) throw new Error(`no open merge request from ${branch}`);
          await sim.merge(name, mr.iid);
        },
        writeAttempts: () => sim.requests.slice(since).filter((q) => q.write).length,
        resetCounts() {
          since = sim.requests.length;
        },
      };
    },
    async createAppRepo(commits) {
      const name = `acme/app-${++serial}`;
      await sim.createProject(name, { 'README.md': 'app\n' });
      const shas: string[] = [];
      for (let i = 0; i < commits; i++)
        shas.push(await sim.commit(name, 'main', { 'a.txt': `${i}` }, `Change ${i}`));
      return { repository: name, shas };
    },
  };
}

function plainGit(): HostUnderTest {
  const servers: GitHttpServer[] = [];
  return {
    name: 'git',
    supportsPullRequests: false,
    async start() {},
    async stop() {
      await Promise.all(servers.map((s) => s.close()));
      for (const d of disposers.splice(0)) await d();
    },
    async createRepo(files) {
      const repo = createManifestRepo(files, `conformance-${++serial}`);
      const token = 'git-token-0123456789';
      const server = await startGitHttpServer({ root: repo.root, token });
      servers.push(server);
      let since = server.log.length;
      const bare = repo.bare;
      return {
        host(credentials = 'write') {
          // Read-only: the server refuses receive-pack (git http-backend answers 403).
          git(['config', 'http.receivepack', credentials === 'write' ? 'true' : 'false'], bare);
          const pending = createGitHost({ remote: `${server.url}/${repo.name}.git`, token }).then(
            (h) => {
              disposers.push(() => h.dispose());
              return h;
            },
          );
          // The flow needs a GitHost now; the git host is made asynchronously, so delegate.
          const lazy: GitHost = {
            kind: 'git',
            repository: `${server.url}/${repo.name}.git`,
            supportsPullRequests: false,
            read: async (r) => (await pending).read(r),
            commit: async (r) => (await pending).commit(r),
            compareCommits: async (r) => (await pending).compareCommits!(r),
          };
          return lazy;
        },
        readFile: async (branch, path) => {
          try {
            return git(['show', `${branch}:${path}`], bare);
          } catch {
            return undefined;
          }
        },
        branches: async () => repo.branches(),
        commitAs: async (branch, changes) => {
          let sha = '';
          for (const [path, text] of Object.entries(changes))
            sha = repo.commitAs(branch, path, text);
          return sha;
        },
        openRequests: () => [],
        async mergeRelease(branch) {
          const work = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
          git(['clone', '-q', bare, work], work);
          git(['merge', '-q', '--no-ff', '-m', `Merge ${branch}`, `origin/${branch}`], work);
          git(['push', '-q', 'origin', 'HEAD:main', `:${branch}`], work);
        },
        writeAttempts: () =>
          server.log
            .slice(since)
            .filter((e) => e.service === 'git-receive-pack' && e.method === 'GET').length,
        resetCounts() {
          since = server.log.length;
        },
      };
    },
    async createAppRepo(commits) {
      const repo = createManifestRepo({ 'README.md': 'app\n' }, `app-${++serial}`);
      const shas: string[] = [];
      for (let i = 0; i < commits; i++) shas.push(repo.commitAs('main', 'a.txt', `${i}`));
      return { repository: repo.bare, shas };
    },
  };
}

export const hostsUnderTest: HostUnderTest[] = [github(), gitlab(), plainGit()];
