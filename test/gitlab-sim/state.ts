// The GitLab simulator's state: projects backed by real bare repositories, merge requests, users
// and tokens, and the services GitLab runs for the calls the host makes — the Commits API's
// validations in GitLab's order with GitLab's messages, last_commit_id as GitLab compares it.
import type { CommitAction, CommitSchema, MergeRequestSchema } from '@gitbeaker/core';
import type { BareRepo, PathChange } from '../github-sim/git.js';

/** GitLab's roles (https://docs.gitlab.com/user/permissions/), by access level. */
export type Role = 'guest' | 'reporter' | 'developer' | 'maintainer';
const LEVEL: Record<Role, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40 };

export interface TokenGrant {
  user: string;
  /** https://docs.gitlab.com/user/profile/personal_access_tokens/#personal-access-token-scopes */
  scopes: ('api' | 'read_api' | 'read_repository' | 'write_repository')[];
  /** The role in every project (the simulator's projects are all private). */
  role: Role;
  /** A CI_JOB_TOKEN: accepted only on the endpoints GitLab lists for job tokens. */
  job?: boolean;
}

/** A refusal as GitLab sends it: the status and the JSON body, word for word. */
export class GitLabRefusal extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(`${status} ${JSON.stringify(body)}`);
  }
}

/** The body of the Commits API, snake_case on the wire, with gitbeaker's description of each field. */
export interface CommitActionBody {
  action: CommitAction['action'];
  file_path: CommitAction['filePath'];
  previous_path?: CommitAction['previousPath'];
  content?: CommitAction['content'];
  encoding?: 'text' | 'base64';
  last_commit_id?: CommitAction['lastCommitId'];
}
export interface CreateCommitBody {
  branch: string;
  commit_message: string;
  start_branch?: string;
  start_sha?: string;
  actions: CommitActionBody[];
  force?: boolean;
  author_name?: string;
  author_email?: string;
}

/** The merge request fields the simulator serves (a subset of gitbeaker's MergeRequestSchema). */
export type ServedMergeRequest = Pick<
  MergeRequestSchema,
  | 'id'
  | 'iid'
  | 'project_id'
  | 'title'
  | 'description'
  | 'state'
  | 'created_at'
  | 'updated_at'
  | 'web_url'
  | 'target_branch'
  | 'source_branch'
  | 'labels'
  | 'draft'
  | 'work_in_progress'
  | 'merge_when_pipeline_succeeds'
  | 'sha'
  | 'merge_commit_sha'
  | 'squash'
  | 'should_remove_source_branch'
  | 'force_remove_source_branch'
  | 'merged_at'
  | 'closed_at'
  | 'assignees'
  | 'reviewers'
  | 'author'
>;

export type ServedCommit = Pick<
  CommitSchema,
  | 'id'
  | 'short_id'
  | 'title'
  | 'message'
  | 'author_name'
  | 'author_email'
  | 'created_at'
  | 'parent_ids'
  | 'committer_name'
  | 'committer_email'
  | 'web_url'
>;

export interface MergeRequestState {
  iid: number;
  id: number;
  title: string;
  description: string;
  source: string;
  target: string;
  state: 'opened' | 'closed' | 'merged';
  labels: string[];
  assignees: string[];
  reviewers: string[];
  author: string;
  removeSourceBranch: boolean;
  squash: boolean;
  autoMerge: { sha: string; squash: boolean } | null;
  mergeCommit: string | null;
  notes: { body: string; author: string }[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  mergedAt: string | null;
}

/** Whether a pipeline runs for new commits: decides what `auto_merge` does (see mergeMr). */
export type PipelineMode = 'none' | 'running' | 'success';

export interface Project {
  id: number;
  fullPath: string;
  git: BareRepo;
  defaultBranch: string;
  mergeRequests: MergeRequestState[];
  /** Protected branches: the lowest role allowed to push (GitLab's default is Maintainer). */
  protected: Map<string, Role>;
  pipeline: PipelineMode;
}

export interface User {
  id: number;
  username: string;
  name: string;
}

const now = () => new Date().toISOString();
const OID = /^[0-9a-f]{40}$/;

export class GitLabState {
  readonly projects = new Map<string, Project>();
  readonly users = new Map<string, User>();
  private nextProject = 1;
  private nextMr = 1;

  constructor(readonly webUrl: () => string) {
    for (const name of ['project_1_bot', 'alice', 'bob', 'carol']) this.addUser(name);
  }

  addUser(username: string): User {
    const user = { id: this.users.size + 1, username, name: username };
    this.users.set(username, user);
    return user;
  }

  addProject(fullPath: string, git: BareRepo, defaultBranch: string): Project {
    const project: Project = {
      id: this.nextProject++,
      fullPath,
      git,
      defaultBranch,
      mergeRequests: [],
      protected: new Map([[defaultBranch, 'maintainer']]),
      pipeline: 'none',
    };
    this.projects.set(fullPath, project);
    return project;
  }

  /** `:id` as GitLab takes it: the numeric id or the URL-encoded full path. */
  find(id: string): Project | undefined {
    if (/^\d+$/.test(id)) return [...this.projects.values()].find((p) => p.id === Number(id));
    return this.projects.get(id);
  }

  canRead(grant: TokenGrant): boolean {
    return LEVEL[grant.role] >= LEVEL.reporter;
  }

  canPush(project: Project, grant: TokenGrant, branch: string): boolean {
    const needed = project.protected.get(branch) ?? 'developer';
    return LEVEL[grant.role] >= LEVEL[needed];
  }

  canCreateMr(grant: TokenGrant): boolean {
    return LEVEL[grant.role] >= LEVEL.developer;
  }

  /**
   * The last commit that changed `path` as of `rev` (Gitlab::Git::Commit.last_for_path, which
   * asks Gitaly's LastCommitForPath with a literal pathspec); the commit itself for the root.
   */
  async lastForPath(project: Project, rev: string, path: string): Promise<string | undefined> {
    const commit = await project.git.resolveCommitish(rev);
    if (!commit) return undefined;
    const clean = path.replace(/^\/+|\/+$/g, '');
    if (clean === '') return commit;
    const out = await project.git
      .run(['--literal-pathspecs', 'log', '-1', '--format=%H', commit, '--', clean])
      .then((b) => b.toString('utf8').trim())
      .catch(() => '');
    return out || undefined;
  }

  /**
   * POST /projects/:id/repository/commits, as lib/api/commits.rb and Commits::CreateService /
   * Files::MultiService validate it (https://docs.gitlab.com/api/commits/#create-a-commit).
   * Every service error is HTTP 400 with `message` (`render_api_error!(result[:message], 400)`).
   */
  async createCommit(
    project: Project,
    grant: TokenGrant,
    body: CreateCommitBody,
  ): Promise<ServedCommit> {
    const missing = ['branch', 'commit_message', 'actions'].filter(
      (k) => (body as unknown as Record<string, unknown>)[k] === undefined,
    );
    // Grape's own refusal of a missing required parameter.
    if (missing.length)
      throw new GitLabRefusal(400, { error: missing.map((m) => `${m} is missing`).join(', ') });
    if (body.start_branch !== undefined && body.start_sha !== undefined) {
      throw new GitLabRefusal(400, { error: 'start_branch, start_sha are mutually exclusive' });
    }
    // lib/api/commits.rb: authorize_push_to_branch!(attrs[:branch]) → forbidden!
    if (!this.canPush(project, grant, body.branch)) {
      throw new GitLabRefusal(403, {
        message: '403 Forbidden - You are not allowed to push into this branch',
      });
    }
    const fail = (message: string) => new GitLabRefusal(400, { message });
    // The API defaults start_branch to branch unless start_sha is given (lib/api/commits.rb).
    const startBranch =
      body.start_branch ?? (body.start_sha === undefined ? body.branch : undefined);
    const target = `refs/heads/${body.branch}`;
    // The head this request builds on and expects to replace, read once at its start (Rails
    // passes it to Gitaly as expected_old_oid): a write landing after it is refused below.
    const existing = await project.git.resolveRef(target);
    let parent: string | undefined;
    if (body.start_sha !== undefined) {
      if (!OID.test(body.start_sha)) throw fail(`Invalid start_sha '${body.start_sha}'`);
      if ((await project.git.objectType(body.start_sha)) !== 'commit') {
        throw fail(`Cannot find start_sha '${body.start_sha}'`);
      }
      parent = body.start_sha;
    } else {
      parent = await project.git.resolveRef(`refs/heads/${startBranch}`);
      // Commits::CreateService#validate_on_branch!
      if (!parent) throw fail('You can only create or edit files when you are on a branch');
    }
    // Commits::CreateService#validate_branch_existence!: different_branch? is true with start_sha.
    const differentBranch = startBranch !== body.branch || body.start_sha !== undefined;
    if (differentBranch && existing && !body.force) {
      throw fail(
        `A branch called '${body.branch}' already exists. Switch to that branch in order to make changes`,
      );
    }
    const changes = new Map<string, PathChange>();
    for (const action of body.actions) {
      if (!action.file_path) throw fail('You must specify a file_path.');
      const path = action.file_path.replace(/^\/+/, '');
      const entry = await project.git.entryAt(parent, path);
      // Files::MultiService#validate_file_status!: update, move and delete are conditional on
      // last_commit_id, compared as Files::BaseService#file_has_changed? does (GitLab ≥ 15.x):
      // the file's last commit on the start branch against its last commit as of the given id.
      // An id GitLab cannot resolve, or a start branch that does not exist, passes.
      if (
        ['update', 'move', 'delete'].includes(action.action) &&
        action.last_commit_id &&
        startBranch
      ) {
        const fromBranch = await this.lastForPath(project, `refs/heads/${startBranch}`, path);
        const fromId = fromBranch
          ? await this.lastForPath(project, action.last_commit_id, path)
          : undefined;
        if (fromBranch && fromId && fromBranch !== fromId) {
          throw fail(`The file has changed since you started editing it: ${path}`);
        }
      }
      const content =
        action.content === undefined
          ? undefined
          : Buffer.from(action.content, action.encoding === 'base64' ? 'base64' : 'utf8');
      if (action.action === 'update') {
        // Gitaly UserCommitFiles: IndexError for a file that is not there.
        if (entry?.type !== 'blob') throw fail("A file with this name doesn't exist");
        changes.set(path, { content: content ?? Buffer.alloc(0), mode: entry.mode });
      } else if (action.action === 'create') {
        if (entry) throw fail('A file with this name already exists');
        changes.set(path, { content: content ?? Buffer.alloc(0) });
      } else if (action.action === 'delete') {
        if (entry?.type !== 'blob') throw fail("A file with this name doesn't exist");
        changes.set(path, null);
      } else {
        throw fail(`Unknown action '${action.action}'`);
      }
    }
    const base = await project.git.readCommit(parent);
    const tree = await project.git.writeTree(base.tree, changes);
    const user = grant.user;
    const identity = {
      name: body.author_name ?? user,
      email: body.author_email ?? `${user}@noreply.gitlab.test`,
    };
    const oid = await project.git.commitTree(tree, [parent], body.commit_message, identity, {
      name: user,
      email: `${user}@noreply.gitlab.test`,
    });
    // Gitaly's compare-and-swap against the head read at the start of this request: GitLab checks
    // last_commit_id, then writes, so a writer landing between the two is caught only here.
    // With start_sha on a new branch the expected value is "absent".
    const expected = existing ?? '0000000000000000000000000000000000000000';
    if (!(await project.git.compareAndSwapRef(target, oid, expected))) {
      throw fail(`Could not update ${target}. Please refresh and try again.`);
    }
    this.onBranchMoved(project, body.branch);
    return this.commitView(project, oid);
  }

  async commitView(project: Project, oid: string): Promise<ServedCommit> {
    const c = await project.git.readCommit(oid);
    const message = c.message.replace(/\n$/, '');
    return {
      id: oid,
      short_id: oid.slice(0, 8),
      title: message.split('\n')[0] ?? '',
      message,
      author_name: c.author.name,
      author_email: c.author.email,
      committer_name: c.committer.name,
      committer_email: c.committer.email,
      created_at: new Date(c.committer.date * 1000).toISOString(),
      parent_ids: c.parents,
      web_url: `${this.webUrl()}/${project.fullPath}/-/commit/${oid}`,
    };
  }

  /** New commits on a source branch cancel auto-merge (https://docs.gitlab.com/user/project/merge_requests/auto_merge/). */
  onBranchMoved(project: Project, branch: string): void {
    for (const mr of project.mergeRequests) {
      if (mr.state === 'opened' && mr.source === branch) mr.autoMerge = null;
    }
  }

  openMrFor(project: Project, source: string, target?: string): MergeRequestState | undefined {
    return project.mergeRequests.find(
      (m) =>
        m.state === 'opened' &&
        m.source === source &&
        (target === undefined || m.target === target),
    );
  }

  newMr(
    project: Project,
    fields: Partial<MergeRequestState> & {
      title: string;
      source: string;
      target: string;
      author: string;
    },
  ): MergeRequestState {
    const at = now();
    const mr: MergeRequestState = {
      iid: project.mergeRequests.length + 1,
      id: this.nextMr++,
      description: '',
      state: 'opened',
      labels: [],
      assignees: [],
      reviewers: [],
      removeSourceBranch: false,
      squash: false,
      autoMerge: null,
      mergeCommit: null,
      notes: [],
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      mergedAt: null,
      ...fields,
    };
    project.mergeRequests.push(mr);
    return mr;
  }

  /** A person (or auto-merge) merges: a real merge commit onto the target, as GitLab's default merge method. */
  async merge(project: Project, mr: MergeRequestState, squash = mr.squash): Promise<string> {
    const head = await project.git.resolveRef(`refs/heads/${mr.source}`);
    const base = await project.git.resolveRef(`refs/heads/${mr.target}`);
    if (mr.state !== 'opened' || !head || !base)
      throw new GitLabRefusal(405, { message: '405 Method Not Allowed' });
    let tree: string;
    try {
      tree = (await project.git.text(['merge-tree', '--write-tree', base, head])).split('\n')[0]!;
    } catch {
      // lib/api/merge_requests.rb: a merge request with conflicts is not mergeable.
      throw new GitLabRefusal(422, { message: 'Branch cannot be merged' });
    }
    const who = { name: 'Administrator', email: 'admin@gitlab.test' };
    const squashed = squash ? await project.git.commitTree(tree, [base], mr.title, who) : undefined;
    const oid = await project.git.commitTree(
      squashed ? (await project.git.readCommit(squashed)).tree : tree,
      squashed ? [base, squashed] : [base, head],
      `Merge branch '${mr.source}' into '${mr.target}'\n\n${mr.title}\n\nSee merge request ${project.fullPath}!${mr.iid}`,
      who,
    );
    if (!(await project.git.compareAndSwapRef(`refs/heads/${mr.target}`, oid, base))) {
      throw new GitLabRefusal(409, { message: 'Merge request is not mergeable' });
    }
    const at = now();
    mr.state = 'merged';
    mr.mergeCommit = oid;
    mr.mergedAt = at;
    mr.updatedAt = at;
    mr.autoMerge = null;
    if (mr.removeSourceBranch) await project.git.deleteRef(`refs/heads/${mr.source}`, head);
    return oid;
  }

  async mrView(project: Project, mr: MergeRequestState): Promise<ServedMergeRequest> {
    const head = (await project.git.resolveRef(`refs/heads/${mr.source}`)) ?? '';
    const person = (username: string) => {
      const u = this.users.get(username);
      return {
        id: u?.id ?? 0,
        username,
        name: u?.name ?? username,
        state: 'active',
        avatar_url: '',
        web_url: `${this.webUrl()}/${username}`,
      };
    };
    return {
      id: mr.id,
      iid: mr.iid,
      project_id: project.id,
      title: mr.title,
      description: mr.description,
      state: mr.state,
      created_at: mr.createdAt,
      updated_at: mr.updatedAt,
      web_url: `${this.webUrl()}/${project.fullPath}/-/merge_requests/${mr.iid}`,
      target_branch: mr.target,
      source_branch: mr.source,
      labels: mr.labels,
      // https://docs.gitlab.com/user/project/merge_requests/drafts/: a title prefix makes a draft.
      draft: isDraftTitle(mr.title),
      work_in_progress: isDraftTitle(mr.title),
      merge_when_pipeline_succeeds: mr.autoMerge !== null,
      sha: mr.state === 'merged' ? '' : head,
      merge_commit_sha: mr.mergeCommit,
      squash: mr.squash,
      should_remove_source_branch: mr.removeSourceBranch,
      force_remove_source_branch: mr.removeSourceBranch,
      merged_at: mr.mergedAt,
      closed_at: mr.closedAt,
      assignees: mr.assignees.map(person),
      reviewers: mr.reviewers.map(person),
      author: person(mr.author),
    } as ServedMergeRequest;
  }
}

export function isDraftTitle(title: string): boolean {
  return /^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s)/i.test(title);
}
