// REST bodies in the shape of GitHub's recorded answers (@octokit/fixtures): every URL field
// filled from the simulator's own address, so a client that follows `url`s stays on loopback.
import type { CommitInfo, GitIdentity } from './git.js';

export interface Urls {
  /** REST base: http://127.0.0.1:port or http://127.0.0.1:port/api/v3. */
  api: string;
  /** Web base (html_url): http://127.0.0.1:port. */
  web: string;
}

export interface UserState {
  login: string;
  id: number;
  type: 'User' | 'Organization' | 'Bot';
}

export interface TeamState {
  org: string;
  slug: string;
  id: number;
}

export interface LabelState {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface CommentState {
  id: number;
  body: string;
  user: string;
  createdAt: string;
}

/** A milestone of a repository (REST `milestone` schema). */
export interface MilestoneState {
  number: number;
  id: number;
  title: string;
  creator: string;
  createdAt: string;
}

export interface PullState {
  /** The milestone's number, once set through PATCH /issues/{n}. */
  milestone?: number | null;
  number: number;
  id: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  state: 'open' | 'closed';
  draft: boolean;
  maintainerCanModify: boolean;
  labels: string[];
  reviewers: string[];
  teamReviewers: string[];
  assignees: string[];
  comments: CommentState[];
  autoMerge: {
    mergeMethod: 'merge' | 'squash' | 'rebase';
    enabledBy: string;
    enabledAt: string;
  } | null;
  user: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Set when merged (sim.mergePullRequest): the merge commit, who and when. */
  merged: { sha: string; by: string; at: string } | null;
  /** A fork's pull request: the fork's full name (its head branch lives there). */
  headRepo?: string;
  /** Requests naming this pull request that still answer "Could not resolve to a node" (eventual consistency). */
  unresolvedFor?: number;
}

export interface RepoMeta {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  defaultBranch: string;
  createdAt: string;
}

export const timestamp = (date = new Date()): string =>
  date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** GraphQL global IDs double as REST `node_id`s, as on GitHub. */
const ID_KINDS = ['R', 'PR', 'REF', 'LA', 'U', 'T', 'IC', 'C', 'MI'] as const;
export type IdKind = (typeof ID_KINDS)[number];

export function nodeId(kind: IdKind, key: string): string {
  return `${kind}_kwDO${Buffer.from(key, 'utf8').toString('base64url')}`;
}

export function parseNodeId(id: string): { kind: IdKind; key: string } | undefined {
  const match = /^([A-Z]+)_kwDO([A-Za-z0-9_-]+)$/.exec(id);
  if (!match || !(ID_KINDS as readonly string[]).includes(match[1]!)) return undefined;
  return { kind: match[1] as IdKind, key: Buffer.from(match[2]!, 'base64url').toString('utf8') };
}

export function simpleUser(urls: Urls, user: UserState) {
  const u = `${urls.api}/users/${encodeURIComponent(user.login)}`;
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId('U', user.login),
    avatar_url: `${urls.web}/avatars/u/${user.id}?v=4`,
    gravatar_id: '',
    url: u,
    html_url: `${urls.web}/${encodeURIComponent(user.login)}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type: user.type,
    user_view_type: 'public',
    site_admin: false,
  };
}

export function team(urls: Urls, t: TeamState) {
  return {
    id: t.id,
    node_id: nodeId('T', `${t.org}/${t.slug}`),
    url: `${urls.api}/organizations/1/team/${t.id}`,
    html_url: `${urls.web}/orgs/${t.org}/teams/${t.slug}`,
    name: t.slug,
    slug: t.slug,
    description: null,
    privacy: 'closed',
    notification_setting: 'notifications_enabled',
    permission: 'pull',
    members_url: `${urls.api}/organizations/1/team/${t.id}/members{/member}`,
    repositories_url: `${urls.api}/organizations/1/team/${t.id}/repos`,
    type: 'organization',
    parent: null,
  };
}

/** The `repository` and `full-repository` shapes (one superset satisfies both). */
export function repository(urls: Urls, repo: RepoMeta, owner: UserState, pushedAt: string) {
  const r = `${urls.api}/repos/${repo.fullName}`;
  const web = `${urls.web}/${repo.fullName}`;
  return {
    id: repo.id,
    node_id: nodeId('R', repo.fullName),
    name: repo.name,
    full_name: repo.fullName,
    private: true,
    owner: simpleUser(urls, owner),
    html_url: web,
    description: null,
    fork: false,
    url: r,
    forks_url: `${r}/forks`,
    keys_url: `${r}/keys{/key_id}`,
    collaborators_url: `${r}/collaborators{/collaborator}`,
    teams_url: `${r}/teams`,
    hooks_url: `${r}/hooks`,
    issue_events_url: `${r}/issues/events{/number}`,
    events_url: `${r}/events`,
    assignees_url: `${r}/assignees{/user}`,
    branches_url: `${r}/branches{/branch}`,
    tags_url: `${r}/tags`,
    blobs_url: `${r}/git/blobs{/sha}`,
    git_tags_url: `${r}/git/tags{/sha}`,
    git_refs_url: `${r}/git/refs{/sha}`,
    trees_url: `${r}/git/trees{/sha}`,
    statuses_url: `${r}/statuses/{sha}`,
    languages_url: `${r}/languages`,
    stargazers_url: `${r}/stargazers`,
    contributors_url: `${r}/contributors`,
    subscribers_url: `${r}/subscribers`,
    subscription_url: `${r}/subscription`,
    commits_url: `${r}/commits{/sha}`,
    git_commits_url: `${r}/git/commits{/sha}`,
    comments_url: `${r}/comments{/number}`,
    issue_comment_url: `${r}/issues/comments{/number}`,
    contents_url: `${r}/contents/{+path}`,
    compare_url: `${r}/compare/{base}...{head}`,
    merges_url: `${r}/merges`,
    archive_url: `${r}/{archive_format}{/ref}`,
    downloads_url: `${r}/downloads`,
    issues_url: `${r}/issues{/number}`,
    pulls_url: `${r}/pulls{/number}`,
    milestones_url: `${r}/milestones{/number}`,
    notifications_url: `${r}/notifications{?since,all,participating}`,
    labels_url: `${r}/labels{/name}`,
    releases_url: `${r}/releases{/id}`,
    deployments_url: `${r}/deployments`,
    created_at: repo.createdAt,
    updated_at: pushedAt,
    pushed_at: pushedAt,
    git_url: `${web.replace(/^http/, 'git')}.git`,
    ssh_url: `git@127.0.0.1:${repo.fullName}.git`,
    clone_url: `${web}.git`,
    svn_url: web,
    homepage: null,
    size: 0,
    stargazers_count: 0,
    watchers_count: 0,
    language: null,
    has_issues: true,
    has_projects: true,
    has_downloads: true,
    has_wiki: true,
    has_pages: false,
    has_discussions: false,
    forks_count: 0,
    mirror_url: null,
    archived: false,
    disabled: false,
    open_issues_count: 0,
    license: null,
    allow_forking: true,
    is_template: false,
    web_commit_signoff_required: false,
    topics: [],
    visibility: 'private',
    forks: 0,
    open_issues: 0,
    watchers: 0,
    default_branch: repo.defaultBranch,
    allow_squash_merge: true,
    allow_merge_commit: true,
    allow_rebase_merge: true,
    allow_auto_merge: true,
    delete_branch_on_merge: false,
    network_count: 0,
    subscribers_count: 0,
  };
}

export function label(urls: Urls, repo: RepoMeta, l: LabelState) {
  return {
    id: l.id,
    node_id: nodeId('LA', `${repo.fullName}\n${l.name}`),
    url: `${urls.api}/repos/${repo.fullName}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    default: false,
    description: l.description ?? '',
  };
}

export function gitRef(urls: Urls, repo: RepoMeta, ref: string, oid: string) {
  return {
    ref,
    node_id: nodeId('REF', `${repo.fullName}\n${ref}`),
    url: `${urls.api}/repos/${repo.fullName}/git/${ref}`,
    object: {
      sha: oid,
      type: 'commit',
      url: `${urls.api}/repos/${repo.fullName}/git/commits/${oid}`,
    },
  };
}

const gitUser = (who: GitIdentity & { date: number }) => ({
  name: who.name,
  email: who.email,
  date: timestamp(new Date(who.date * 1000)),
});

/** Commits the simulator writes are shown as verified, as GitHub does for its own web-flow commits. */
export function verification(verified: boolean, at: number) {
  return verified
    ? {
        verified: true,
        reason: 'valid',
        signature: null,
        payload: null,
        verified_at: timestamp(new Date(at * 1000)),
      }
    : { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null };
}

export function gitCommit(urls: Urls, repo: RepoMeta, c: CommitInfo, verified: boolean) {
  const r = `${urls.api}/repos/${repo.fullName}`;
  return {
    sha: c.oid,
    node_id: nodeId('C', `${repo.fullName}\n${c.oid}`),
    url: `${r}/git/commits/${c.oid}`,
    html_url: `${urls.web}/${repo.fullName}/commit/${c.oid}`,
    author: gitUser(c.author),
    committer: gitUser(c.committer),
    tree: { sha: c.tree, url: `${r}/git/trees/${c.tree}` },
    message: c.message.replace(/\n$/, ''),
    parents: c.parents.map((p) => ({
      sha: p,
      url: `${r}/git/commits/${p}`,
      html_url: `${urls.web}/${repo.fullName}/commit/${p}`,
    })),
    verification: verification(verified, c.committer.date),
  };
}

/** The `commit` shape of compare and the commits API. */
export function commit(
  urls: Urls,
  repo: RepoMeta,
  c: CommitInfo,
  verified: boolean,
  users: { author: UserState | undefined; committer: UserState | undefined },
) {
  const r = `${urls.api}/repos/${repo.fullName}`;
  return {
    url: `${r}/commits/${c.oid}`,
    sha: c.oid,
    node_id: nodeId('C', `${repo.fullName}\n${c.oid}`),
    html_url: `${urls.web}/${repo.fullName}/commit/${c.oid}`,
    comments_url: `${r}/commits/${c.oid}/comments`,
    commit: {
      url: `${r}/git/commits/${c.oid}`,
      author: gitUser(c.author),
      committer: gitUser(c.committer),
      message: c.message.replace(/\n$/, ''),
      comment_count: 0,
      tree: { sha: c.tree, url: `${r}/git/trees/${c.tree}` },
      verification: verification(verified, c.committer.date),
    },
    author: users.author ? simpleUser(urls, users.author) : null,
    committer: users.committer ? simpleUser(urls, users.committer) : null,
    parents: c.parents.map((p) => ({
      sha: p,
      url: `${r}/commits/${p}`,
      html_url: `${urls.web}/${repo.fullName}/commit/${p}`,
    })),
  };
}

export function contentEntry(
  urls: Urls,
  repo: RepoMeta,
  ref: string,
  entry: {
    path: string;
    type: 'file' | 'dir' | 'submodule' | 'symlink';
    oid: string;
    size: number;
  },
) {
  const r = `${urls.api}/repos/${repo.fullName}`;
  const self = `${r}/contents/${entry.path}?ref=${encodeURIComponent(ref)}`;
  const kind = entry.type === 'dir' ? 'tree' : 'blob';
  const html = `${urls.web}/${repo.fullName}/${kind}/${ref}/${entry.path}`;
  const git = `${r}/git/${kind === 'tree' ? 'trees' : 'blobs'}/${entry.oid}`;
  return {
    name: entry.path.split('/').pop()!,
    path: entry.path,
    sha: entry.oid,
    size: entry.size,
    url: self,
    html_url: html,
    git_url: git,
    download_url:
      entry.type === 'file' ? `${urls.web}/${repo.fullName}/raw/${ref}/${entry.path}` : null,
    type: entry.type,
    _links: { self, git, html },
  };
}

export function pullRequest(
  urls: Urls,
  repo: RepoMeta,
  repoBody: ReturnType<typeof repository>,
  pr: PullState,
  shas: { head: string; base: string },
  lookup: {
    user(login: string): UserState;
    team(slug: string): TeamState;
    label(name: string): LabelState;
    milestone?(number: number): MilestoneState | undefined;
  },
  stats: { commits: number; additions: number; deletions: number; changedFiles: number },
  fork?: { meta: RepoMeta; body: ReturnType<typeof repository> },
) {
  const r = `${urls.api}/repos/${repo.fullName}`;
  const html = `${urls.web}/${repo.fullName}/pull/${pr.number}`;
  const issue = `${r}/issues/${pr.number}`;
  const self = `${r}/pulls/${pr.number}`;
  const owner = simpleUser(urls, lookup.user(repo.owner));
  const assignees = pr.assignees.map((a) => simpleUser(urls, lookup.user(a)));
  return {
    url: self,
    id: pr.id,
    node_id: nodeId('PR', `${repo.fullName}\n${pr.number}`),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issue,
    commits_url: `${self}/commits`,
    review_comments_url: `${self}/comments`,
    review_comment_url: `${r}/pulls/comments{/number}`,
    comments_url: `${issue}/comments`,
    statuses_url: `${r}/statuses/${shas.head}`,
    number: pr.number,
    state: pr.state,
    locked: false,
    title: pr.title,
    user: simpleUser(urls, lookup.user(pr.user)),
    body: pr.body,
    labels: pr.labels.map((name) => label(urls, repo, lookup.label(name))),
    milestone: milestoneOf(urls, repo, pr, lookup),
    active_lock_reason: null,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    closed_at: pr.closedAt,
    merged_at: pr.merged?.at ?? null,
    merge_commit_sha: pr.merged?.sha ?? null,
    assignee: assignees[0] ?? null,
    assignees,
    requested_reviewers: pr.reviewers.map((login) => simpleUser(urls, lookup.user(login))),
    requested_teams: pr.teamReviewers.map((slug) => team(urls, lookup.team(slug))),
    head: {
      label: `${fork?.meta.owner ?? repo.owner}:${pr.head}`,
      ref: pr.head,
      repo: fork?.body ?? repoBody,
      sha: shas.head,
      user: fork ? simpleUser(urls, lookup.user(fork.meta.owner)) : owner,
    },
    base: {
      label: `${repo.owner}:${pr.base}`,
      ref: pr.base,
      repo: repoBody,
      sha: shas.base,
      user: owner,
    },
    _links: {
      self: { href: self },
      html: { href: html },
      issue: { href: issue },
      comments: { href: `${issue}/comments` },
      review_comments: { href: `${self}/comments` },
      review_comment: { href: `${r}/pulls/comments{/number}` },
      commits: { href: `${self}/commits` },
      statuses: { href: `${r}/statuses/${shas.head}` },
    },
    author_association: 'MEMBER',
    auto_merge: pr.autoMerge
      ? {
          enabled_by: simpleUser(urls, lookup.user(pr.autoMerge.enabledBy)),
          merge_method: pr.autoMerge.mergeMethod,
          commit_title: `${pr.title} (#${pr.number})`,
          commit_message: '',
        }
      : null,
    draft: pr.draft,
    merged: pr.merged !== null,
    mergeable: pr.state === 'open' ? true : null,
    rebaseable: pr.state === 'open' ? true : null,
    mergeable_state: pr.state === 'open' ? 'clean' : 'unknown',
    merged_by: pr.merged ? simpleUser(urls, lookup.user(pr.merged.by)) : null,
    comments: pr.comments.length,
    review_comments: 0,
    maintainer_can_modify: pr.maintainerCanModify,
    commits: stats.commits,
    additions: stats.additions,
    deletions: stats.deletions,
    changed_files: stats.changedFiles,
  };
}

/** The REST `milestone` object, as GitHub embeds it in issues and pull requests. */
export function milestone(urls: Urls, repo: RepoMeta, m: MilestoneState, creator: UserState) {
  const url = `${urls.api}/repos/${repo.fullName}/milestones/${m.number}`;
  return {
    url,
    html_url: `${urls.web}/${repo.fullName}/milestone/${m.number}`,
    labels_url: `${url}/labels`,
    id: m.id,
    node_id: nodeId('MI', `${repo.fullName}\n${m.number}`),
    number: m.number,
    state: 'open' as const,
    title: m.title,
    description: null,
    creator: simpleUser(urls, creator),
    open_issues: 0,
    closed_issues: 0,
    created_at: m.createdAt,
    updated_at: m.createdAt,
    closed_at: null,
    due_on: null,
  };
}

export function issueFromPull(
  urls: Urls,
  repo: RepoMeta,
  pr: PullState,
  lookup: {
    user(login: string): UserState;
    label(name: string): LabelState;
    milestone?(number: number): MilestoneState | undefined;
  },
) {
  const r = `${urls.api}/repos/${repo.fullName}`;
  const issue = `${r}/issues/${pr.number}`;
  const html = `${urls.web}/${repo.fullName}/pull/${pr.number}`;
  const assignees = pr.assignees.map((a) => simpleUser(urls, lookup.user(a)));
  return {
    id: pr.id,
    node_id: nodeId('PR', `${repo.fullName}\n${pr.number}`),
    url: issue,
    repository_url: r,
    labels_url: `${issue}/labels{/name}`,
    comments_url: `${issue}/comments`,
    events_url: `${issue}/events`,
    html_url: html,
    number: pr.number,
    state: pr.state,
    title: pr.title,
    body: pr.body,
    user: simpleUser(urls, lookup.user(pr.user)),
    labels: pr.labels.map((name) => label(urls, repo, lookup.label(name))),
    assignee: assignees[0] ?? null,
    assignees,
    milestone: milestoneOf(urls, repo, pr, lookup),
    locked: false,
    active_lock_reason: null,
    comments: pr.comments.length,
    pull_request: {
      url: `${r}/pulls/${pr.number}`,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      merged_at: pr.merged?.at ?? null,
    },
    closed_at: pr.closedAt,
    closed_by: null,
    state_reason: null,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
    draft: pr.draft,
    timeline_url: `${issue}/timeline`,
    performed_via_github_app: null,
    reactions: {
      url: `${issue}/reactions`,
      total_count: 0,
      '+1': 0,
      '-1': 0,
      laugh: 0,
      hooray: 0,
      confused: 0,
      heart: 0,
      rocket: 0,
      eyes: 0,
    },
    author_association: 'MEMBER',
  };
}

export function issueComment(
  urls: Urls,
  repo: RepoMeta,
  issueNumber: number,
  c: CommentState,
  user: UserState,
) {
  const r = `${urls.api}/repos/${repo.fullName}`;
  return {
    id: c.id,
    node_id: nodeId('IC', `${repo.fullName}\n${c.id}`),
    url: `${r}/issues/comments/${c.id}`,
    html_url: `${urls.web}/${repo.fullName}/pull/${issueNumber}#issuecomment-${c.id}`,
    body: c.body,
    user: simpleUser(urls, user),
    created_at: c.createdAt,
    updated_at: c.createdAt,
    issue_url: `${r}/issues/${issueNumber}`,
    author_association: 'MEMBER',
  };
}

export function basicError(message: string, documentationUrl: string, status: number) {
  return { message, documentation_url: documentationUrl, status: String(status) };
}

function milestoneOf(
  urls: Urls,
  repo: RepoMeta,
  pr: PullState,
  lookup: {
    user(login: string): UserState;
    milestone?(number: number): MilestoneState | undefined;
  },
) {
  const m = pr.milestone == null ? undefined : lookup.milestone?.(pr.milestone);
  return m ? milestone(urls, repo, m, lookup.user(m.creator)) : null;
}
