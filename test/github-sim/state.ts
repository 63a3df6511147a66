// What the simulated GitHub knows: repositories (real bare git repositories on disk), pull
// requests, labels, users, teams and which token may do what. REST and GraphQL share it.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BareRepo, type CommitInfo, type PathChange, ZERO_OID } from './git.js';
import {
  type CommentState,
  type LabelState,
  type MilestoneState,
  type PullState,
  type RepoMeta,
  type TeamState,
  timestamp,
  type UserState,
} from './shapes.js';

/** What a token may do. */
export type PermissionScope = 'contents' | 'pull_requests' | 'issues';
export type PermissionLevel = 'none' | 'read' | 'write';

export interface TokenGrant {
  /** The login the token acts as (`viewer.login`, the author of commits and pull requests). */
  login: string;
  /** `write` may change repositories; `read` gets 403 "Resource not accessible by integration". */
  permission: 'read' | 'write';
  /**
   * Fine-grained permissions (a GitHub App or fine-grained token), overriding `permission` per
   * scope: e.g. `{ contents: 'read' }` may open pull requests but not commit.
   */
  permissions?: Partial<Record<PermissionScope, PermissionLevel>>;
  /** A workflow's GITHUB_TOKEN: opening pull requests also needs the repository's Actions setting. */
  actions?: boolean;
  /** Full names the token can see (others answer 404 / NOT_FOUND); all repositories when absent. */
  repos?: string[];
  /** The account type shown for `login`; a `[bot]` suffix makes it a Bot by default. */
  type?: UserState['type'];
}

export interface RepoRecord {
  meta: RepoMeta;
  git: BareRepo;
  labels: Map<string, LabelState>;
  /** Milestones by number (sim.createMilestone). */
  milestones?: Map<number, MilestoneState>;
  pulls: PullState[];
  /** Commits GitHub itself made (web-flow), shown as signed and verified. */
  signed: Set<string>;
  /** How enablePullRequestAutoMerge behaves (see GitHubSimulator.setAutoMerge). */
  autoMerge: AutoMergeMode;
  /** Rulesets and classic branch protection (see GitHubSimulator.addRule). */
  rules: BranchRule[];
  /** Draft pull requests offered: public repositories, or a paid plan (default: private on Free, no). */
  drafts: boolean;
  /** Logins who may be asked for review or assigned (lowercase); the token's own login is added. */
  collaborators: Set<string>;
  /** Team slugs with access to the repository (lowercase), who may be asked for review. */
  teams: Set<string>;
  /** "Allow GitHub Actions to create and approve pull requests" (off by default since 2022). */
  actionsCanOpenPullRequests: boolean;
  /** Requests naming a new pull request that answer "Could not resolve to a node" first. */
  unresolvedAfterCreate: number;
  /** Merge methods the repository allows (GitHub's default: all three). */
  mergeMethods: ('merge' | 'squash' | 'rebase')[];
  pushedAt: string;
}

/** A ruleset or a classic branch protection rule on branches matching `pattern` (`*` globs). */
export interface BranchRule {
  kind: 'ruleset' | 'protection';
  pattern: string;
  /** Refuses creating a matching branch (ruleset rule "Restrict creations"). */
  creation?: boolean;
  /** Refuses direct commits and ref updates: changes must go through a pull request. */
  requirePullRequest?: boolean;
}

export function ruleFor(
  repo: RepoRecord,
  branch: string,
  what: 'creation' | 'requirePullRequest',
): BranchRule | undefined {
  const name = branch.replace(/^refs\/heads\//, '');
  return repo.rules.find((r) => {
    if (!r[what]) return false;
    const re = new RegExp(
      `^${r.pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    return re.test(name);
  });
}

/** The level a token has for a scope (fine-grained permissions first). */
export function levelOf(grant: TokenGrant, scope: PermissionScope): PermissionLevel {
  return grant.permissions?.[scope] ?? grant.permission;
}

/**
 * `allowed`: auto-merge is enabled. `disallowed`: the repository setting is off. `clean-status`:
 * GitHub refuses when the pull request could be merged at once (no required checks pending).
 */
export type AutoMergeMode = 'allowed' | 'disallowed' | 'clean-status';

function newRecordDefaults() {
  return {
    labels: new Map<string, LabelState>(),
    pulls: [] as PullState[],
    signed: new Set<string>(),
    // GitHub's defaults: "Allow auto-merge" is off for a new repository, a private repository on
    // GitHub Free has no drafts, nobody but the owner is a collaborator, and Actions may not open
    // pull requests (github.blog changelog 2022-05-03).
    autoMerge: 'disallowed' as AutoMergeMode,
    rules: [] as BranchRule[],
    drafts: false,
    collaborators: new Set<string>(),
    teams: new Set<string>(),
    actionsCanOpenPullRequests: false,
    unresolvedAfterCreate: 0,
    mergeMethods: ['merge', 'squash', 'rebase'] as ('merge' | 'squash' | 'rebase')[],
  };
}

export class StateError extends Error {
  constructor(
    readonly kind: 'NOT_FOUND' | 'STALE_DATA' | 'UNPROCESSABLE' | 'FORBIDDEN',
    message: string,
  ) {
    super(message);
  }
}

export const WEB_FLOW = { name: 'GitHub', email: 'noreply@github.com' };

export class GitHubState {
  readonly repos = new Map<string, RepoRecord>();
  readonly users = new Map<string, UserState>();
  readonly teams = new Map<string, TeamState>();
  readonly grants = new Map<string, TokenGrant>();
  /** Entries a recursive REST tree lists before it says truncated (GitHub: 100,000). */
  treeLimit = 100_000;
  /** Whether createCommitOnBranch sees a ref createRef made earlier in the same document. */
  refVisibleInSameDocument = true;
  /** Serve the schema of an Enterprise Server without createCommitOnBranch (before 3.4). */
  withoutCreateCommitOnBranch = false;
  private nextId = 1000;

  constructor(readonly dir: string) {}

  id(): number {
    return this.nextId++;
  }

  user(login: string): UserState {
    const key = login.toLowerCase();
    let user = this.users.get(key);
    if (!user) {
      user = { login, id: this.id(), type: login.endsWith('[bot]') ? 'Bot' : 'User' };
      this.users.set(key, user);
    }
    return user;
  }

  team(slug: string, org = 'acme'): TeamState {
    const bare = slug.includes('/') ? slug.split('/')[1]! : slug;
    const key = bare.toLowerCase();
    let t = this.teams.get(key);
    if (!t) {
      t = { org: slug.includes('/') ? slug.split('/')[0]! : org, slug: bare, id: this.id() };
      this.teams.set(key, t);
    }
    return t;
  }

  label(repo: RepoRecord, name: string, create = true): LabelState | undefined {
    const key = name.toLowerCase();
    let l = repo.labels.get(key);
    if (!l && create) {
      l = { id: this.id(), name, color: 'ededed', description: null };
      repo.labels.set(key, l);
    }
    return l;
  }

  /** Who GitHub lets be asked for review or assigned: collaborators (and the tokens' own logins). */
  isCollaborator(repo: RepoRecord, login: string): boolean {
    const key = login.toLowerCase();
    if (repo.collaborators.has(key)) return true;
    return [...this.grants.values()].some(
      (g) => g.login.toLowerCase() === key && this.visibleRepo(repo.meta.fullName, g) !== undefined,
    );
  }

  identity(login: string): { name: string; email: string } {
    const user = this.user(login);
    return { name: user.login, email: `${user.id}+${user.login}@users.noreply.github.com` };
  }

  /** The repository as this token sees it: undefined when missing or hidden (GitHub says 404). */
  visibleRepo(fullName: string, grant: TokenGrant | undefined): RepoRecord | undefined {
    const repo = this.repos.get(fullName.toLowerCase());
    if (!repo || !grant) return undefined;
    if (
      grant.repos &&
      !grant.repos.some((r) => r.toLowerCase() === repo.meta.fullName.toLowerCase())
    )
      return undefined;
    return repo;
  }

  async createRepo(
    fullName: string,
    files: Record<string, string | Buffer>,
    options: { defaultBranch?: string; author?: string; message?: string } = {},
  ): Promise<RepoRecord> {
    const [owner, name, extra] = fullName.split('/');
    if (!owner || !name || extra !== undefined) throw new Error(`not OWNER/NAME: ${fullName}`);
    if (this.repos.has(fullName.toLowerCase())) throw new Error(`${fullName} exists already`);
    const defaultBranch = options.defaultBranch ?? 'main';
    await mkdir(join(this.dir, owner), { recursive: true });
    const git = await BareRepo.init(join(this.dir, owner, `${name}.git`), defaultBranch);
    const ownerUser = this.user(owner);
    ownerUser.type = 'Organization';
    const created = timestamp();
    const record: RepoRecord = {
      meta: { id: this.id(), owner, name, fullName, defaultBranch, createdAt: created },
      git,
      ...newRecordDefaults(),
      pushedAt: created,
    };
    this.repos.set(fullName.toLowerCase(), record);
    await git.importSnapshot(
      `refs/heads/${defaultBranch}`,
      files,
      options.message ?? 'Initial commit',
      this.identity(options.author ?? 'octocat'),
    );
    return record;
  }

  /** Serves a bare repository that already exists on disk (e.g. a long history made elsewhere). */
  adoptRepo(fullName: string, path: string, defaultBranch = 'main'): RepoRecord {
    const [owner, name, extra] = fullName.split('/');
    if (!owner || !name || extra !== undefined) throw new Error(`not OWNER/NAME: ${fullName}`);
    if (this.repos.has(fullName.toLowerCase())) throw new Error(`${fullName} exists already`);
    this.user(owner).type = 'Organization';
    const created = timestamp();
    const record: RepoRecord = {
      meta: { id: this.id(), owner, name, fullName, defaultBranch, createdAt: created },
      git: new BareRepo(path),
      ...newRecordDefaults(),
      pushedAt: created,
    };
    this.repos.set(fullName.toLowerCase(), record);
    return record;
  }

  /**
   * One commit of `changes` on top of `branch` (created from the default branch's head when
   * missing only if `createFrom` is given). `expectedHeadOid` makes it a compare-and-swap.
   */
  async commitOnBranch(
    repo: RepoRecord,
    branch: string,
    changes: Map<string, PathChange>,
    message: string,
    options: {
      expectedHeadOid?: string;
      author: { name: string; email: string };
      committer?: { name: string; email: string };
      signed: boolean;
      createFrom?: string;
      checkDeletions?: boolean;
    },
  ): Promise<CommitInfo> {
    const ref = `refs/heads/${branch}`;
    let head = await repo.git.resolveRef(ref);
    if (!head && options.createFrom) {
      head = options.createFrom;
    } else if (!head) {
      throw new StateError(
        'NOT_FOUND',
        `Could not resolve to a Ref with the name '${ref}' in ${repo.meta.fullName}.`,
      );
    }
    if (options.expectedHeadOid && options.expectedHeadOid !== head) {
      throw new StateError(
        'STALE_DATA',
        `Expected branch to point to "${options.expectedHeadOid}" but it did not. Pull and try again.`,
      );
    }
    const parent = await repo.git.readCommit(head);
    if (options.checkDeletions) {
      for (const [path, change] of changes) {
        if (change === null && !(await repo.git.entryAt(head, path))) {
          throw new StateError(
            'UNPROCESSABLE',
            `A path was requested for deletion which does not exist as of commit oid \`${head}\``,
          );
        }
      }
    }
    const tree = await repo.git.writeTree(parent.tree, changes);
    const oid = await repo.git.commitTree(
      tree,
      [head],
      message,
      options.author,
      options.committer ?? options.author,
    );
    const existed = await repo.git.resolveRef(ref);
    const swapped = await repo.git.compareAndSwapRef(ref, oid, existed ? head : ZERO_OID);
    if (!swapped) {
      // Another writer moved the branch between our read and our write: refuse, as GitHub does.
      throw new StateError(
        'STALE_DATA',
        `Expected branch to point to "${head}" but it did not. Pull and try again.`,
      );
    }
    if (options.signed) repo.signed.add(oid);
    repo.pushedAt = timestamp();
    return repo.git.readCommit(oid);
  }

  newPull(
    repo: RepoRecord,
    input: {
      title: string;
      body: string | null;
      head: string;
      base: string;
      draft: boolean;
      user: string;
    },
  ): PullState {
    // Checked again here, synchronously with the push: two racing creations both passed
    // checkNewPull's awaits, and GitHub opens only one of them.
    if (
      repo.pulls.some(
        (p) => p.state === 'open' && !p.headRepo && p.head === input.head && p.base === input.base,
      )
    ) {
      throw new StateError(
        'UNPROCESSABLE',
        `A pull request already exists for ${repo.meta.owner}:${input.head}.`,
      );
    }
    const now = timestamp();
    const number = repo.pulls.reduce((max, p) => Math.max(max, p.number), 0) + 1;
    const pr: PullState = {
      number,
      id: this.id(),
      title: input.title,
      body: input.body,
      head: input.head,
      base: input.base,
      state: 'open',
      draft: input.draft,
      maintainerCanModify: true,
      labels: [],
      reviewers: [],
      teamReviewers: [],
      assignees: [],
      comments: [],
      autoMerge: null,
      user: input.user,
      createdAt: now,
      updatedAt: now,
      closedAt: null,
      merged: null,
      ...(repo.unresolvedAfterCreate ? { unresolvedFor: repo.unresolvedAfterCreate } : {}),
    };
    repo.pulls.push(pr);
    return pr;
  }

  /** The checks GitHub runs before it opens a pull request. */
  async checkNewPull(repo: RepoRecord, head: string, base: string): Promise<void> {
    const headOid = await repo.git.resolveRef(`refs/heads/${head}`);
    const baseOid = await repo.git.resolveRef(`refs/heads/${base}`);
    if (!baseOid) throw new StateError('UNPROCESSABLE', `Base ref ${base} does not exist.`);
    if (!headOid) throw new StateError('UNPROCESSABLE', `Head ref ${head} does not exist.`);
    if (
      repo.pulls.some(
        (p) => p.state === 'open' && !p.headRepo && p.head === head && p.base === base,
      )
    ) {
      throw new StateError(
        'UNPROCESSABLE',
        `A pull request already exists for ${repo.meta.owner}:${head}.`,
      );
    }
    if ((await repo.git.countBetween(baseOid, headOid)) === 0) {
      throw new StateError('UNPROCESSABLE', `No commits between ${base} and ${head}`);
    }
  }

  /**
   * Merges an open pull request as a person would on GitHub: a real three-way merge
   * (`git merge-tree --write-tree`), a merge commit (or one squashed commit) on the base moved
   * by compare-and-swap, and the pull request closed as merged.
   */
  async mergePull(
    repo: RepoRecord,
    pr: PullState,
    method: 'merge' | 'squash' | 'rebase',
    by: string,
  ): Promise<string> {
    if (pr.state !== 'open') throw new StateError('UNPROCESSABLE', 'Pull Request is not mergeable');
    const head = await repo.git.resolveRef(`refs/heads/${pr.head}`);
    const base = await repo.git.resolveRef(`refs/heads/${pr.base}`);
    if (!head || !base) throw new StateError('UNPROCESSABLE', 'Pull Request is not mergeable');
    let tree: string;
    try {
      tree = (await repo.git.text(['merge-tree', '--write-tree', base, head])).split('\n')[0]!;
    } catch {
      throw new StateError('UNPROCESSABLE', 'Merge conflict: the pull request cannot be merged.');
    }
    // Rebase replays the head's commits onto the base; for the one-commit release branches this
    // simulator serves, that is one commit with the head's message on top of the base.
    const message =
      method === 'squash'
        ? `${pr.title} (#${pr.number})`
        : method === 'rebase'
          ? (await repo.git.readCommit(head)).message
          : `Merge pull request #${pr.number} from ${repo.meta.owner}/${pr.head}\n\n${pr.title}`;
    const oid = await repo.git.commitTree(
      tree,
      method === 'merge' ? [base, head] : [base],
      message,
      this.identity(by),
      WEB_FLOW,
    );
    if (!(await repo.git.compareAndSwapRef(`refs/heads/${pr.base}`, oid, base))) {
      throw new StateError(
        'STALE_DATA',
        'Base branch was modified. Review and try the merge again.',
      );
    }
    repo.signed.add(oid);
    repo.pushedAt = timestamp();
    const now = timestamp();
    pr.state = 'closed';
    pr.closedAt = now;
    pr.updatedAt = now;
    pr.merged = { sha: oid, by, at: now };
    return oid;
  }

  /** Reopens a closed pull request; GitHub refuses a merged one, or a second open one per branch. */
  reopenPull(repo: RepoRecord, pr: PullState): void {
    if (pr.merged) throw new StateError('UNPROCESSABLE', 'Cannot reopen a merged pull request.');
    if (
      repo.pulls.some(
        (p) => p !== pr && p.state === 'open' && p.head === pr.head && p.base === pr.base,
      )
    ) {
      throw new StateError(
        'UNPROCESSABLE',
        `A pull request already exists for ${repo.meta.owner}:${pr.head}.`,
      );
    }
    pr.state = 'open';
    pr.closedAt = null;
  }

  addComment(pr: PullState, body: string, login: string): CommentState {
    const comment: CommentState = { id: this.id(), body, user: login, createdAt: timestamp() };
    pr.comments.push(comment);
    pr.updatedAt = comment.createdAt;
    return comment;
  }

  findPull(repo: RepoRecord, number: number): PullState | undefined {
    return repo.pulls.find((p) => p.number === number);
  }
}
