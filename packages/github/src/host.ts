import {
  type CommitComparison,
  type CommitRequest,
  type CommitResult,
  type CompareRequest,
  decodeManifestText,
  type GitHost,
  PathError,
  type PullRequestInfo,
  type PullRequestRequest,
  type ReadRequest,
  type ReleaseWarning,
  type RepositorySnapshot,
  UsageError,
} from '@gitops-release/core';
import { createGitHubClient, type GitHubClient, type GitHubClientOptions } from './client.js';
import { type Operation, toHostError } from './errors.js';
import { applyGitHubExtras, type ExtrasContext } from './extras.js';
import {
  errorOf,
  type FieldError,
  fieldErrors,
  isRace,
  type RefusalContext,
  raceError,
  refusalError,
  restFieldError,
  restStatus,
} from './refusals.js';

type ManifestFile = RepositorySnapshot['files'][number];

export interface GitHubHostOptions extends GitHubClientOptions {
  /** `OWNER/NAME` of the manifest repository. */
  repository: string;
  /** `graphql` (default: one round trip per step, signed commits), `rest` (Git Data API), or `auto`. */
  api?: 'graphql' | 'rest' | 'auto';
  /** An existing client (shares limits across hosts); built from the options otherwise. */
  client?: GitHubClient;
  /**
   * In GitHub Actions, the repository the workflow runs in (GITHUB_REPOSITORY): a refusal of an
   * installation token (`ghs_…`) on another repository then says that the workflow's own
   * GITHUB_TOKEN cannot reach it, instead of advising `permissions:` that cannot help.
   */
  workflowRepository?: string;
  /** Waits between retries of a pull request GitHub does not resolve yet; tests pass a fake. */
  sleep?: (ms: number) => Promise<void>;
}

export interface GitHubHost extends GitHost {
  readonly client: GitHubClient;
  /** Which API the host ended up using. */
  readonly api: 'graphql' | 'rest';
  /** HTTP requests sent (each retry counts). */
  readonly requests: number;
}

const MANIFEST = /\.ya?ml$/;
/** Directory levels below a given path that one GraphQL read expands. */
const TREE_DEPTH = 4;

/** The hint for a workflow's own token used on another repository (see workflowRepository). */
function workflowTokenHint(
  token: string,
  repository: string,
  workflowRepository: string | undefined,
): string | undefined {
  if (!workflowRepository || !token.startsWith('ghs_')) return undefined;
  if (workflowRepository.toLowerCase() === repository.toLowerCase()) return undefined;
  return `If this is the workflow's own GITHUB_TOKEN: it can only reach ${workflowRepository}, the repository the workflow runs in, and no \`permissions:\` setting extends it to ${repository}. Use a GitHub App installation token (actions/create-github-app-token) or a fine-grained personal access token granted ${repository} with Contents and Pull requests read and write (README: GitHub Actions → Permissions and tokens).`;
}

function splitRepository(repository: string): { owner: string; name: string } {
  const m = repository.match(/^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?$/);
  if (!m) {
    throw new UsageError(`--repo "${repository}" is not OWNER/NAME`, { input: 'repo' });
  }
  return { owner: m[1]!, name: m[2]! };
}

function cleanPath(path: string): string {
  return path
    .replace(/^\.\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\/{2,}/g, '/');
}

const BLOB = '... on Blob { oid text isTruncated isBinary }';
/** Blob fields, and Tree entries nested `depth` levels (GraphQL fragments cannot recurse). */
function objectFields(depth: number): string {
  if (depth === 0) return BLOB;
  return `${BLOB} ... on Tree { entries { name type mode object { ${objectFields(depth - 1)} } } }`;
}
const ENTRY = objectFields(TREE_DEPTH);
const PR_FIELDS =
  'id number url title body headRefName baseRefName state isCrossRepository headRepository { nameWithOwner }';

interface GqlBlob {
  oid?: string;
  text?: string | null;
  isTruncated?: boolean;
  isBinary?: boolean;
  entries?: { name: string; type: string; mode?: number; object?: GqlBlob | null }[];
}

interface GqlPr {
  id: string;
  number: number;
  url: string;
  title: string;
  body: string;
  headRefName: string;
  baseRefName: string;
  state?: 'OPEN' | 'CLOSED' | 'MERGED';
  isCrossRepository?: boolean;
  headRepository?: { nameWithOwner: string } | null;
}

function toPr(pr: GqlPr): PullRequestInfo {
  return {
    id: pr.id,
    number: pr.number,
    url: pr.url,
    title: pr.title,
    body: pr.body ?? '',
    head: pr.headRefName,
    base: pr.baseRefName,
    state: pr.state === 'MERGED' ? 'merged' : pr.state === 'CLOSED' ? 'closed' : 'open',
  };
}

/**
 * Ours: opened from a branch of the manifest repository itself. A fork's pull request from a
 * same-named branch (`release-<sha>` on a public repository) must never be adopted, edited or
 * armed for auto-merge.
 */
function sameRepository(pr: GqlPr, repository: string): boolean {
  return (
    pr.isCrossRepository === false &&
    pr.headRepository?.nameWithOwner.toLowerCase() === repository.toLowerCase()
  );
}

interface RestPr {
  node_id: string;
  number: number;
  html_url: string;
  title: string;
  body?: string | null;
  state?: string;
  merged_at?: string | null;
  head: { ref: string; repo?: { full_name: string } | null };
  base: { ref: string };
}

function restPr(pr: RestPr): PullRequestInfo {
  return {
    id: pr.node_id,
    number: pr.number,
    url: pr.html_url,
    title: pr.title,
    body: pr.body ?? '',
    head: pr.head.ref,
    base: pr.base.ref,
    state: pr.merged_at ? 'merged' : pr.state === 'closed' ? 'closed' : 'open',
  };
}

function restSameRepository(pr: RestPr, repository: string): boolean {
  return pr.head.repo?.full_name.toLowerCase() === repository.toLowerCase();
}

function isStatus(err: unknown, ...statuses: number[]): boolean {
  return statuses.includes((err as { status?: number })?.status ?? -1);
}

/**
 * The release flow on GitHub without a clone. GraphQL: one query reads the branches, the target
 * files and the release pull request; one mutation document creates or resets the release branch
 * and commits with createCommitOnBranch guarded by expectedHeadOid (GitHub signs it); one more
 * opens or updates the pull request. REST (Git Data API, one tree with inline contents) where
 * GraphQL is not served.
 */
export function createGitHubHost(options: GitHubHostOptions): GitHubHost {
  const { owner, name } = splitRepository(options.repository);
  const repository = `${owner}/${name}`;
  const client = options.client ?? createGitHubClient(options);
  const secrets = [options.token];
  const tokenHint = workflowTokenHint(options.token, repository, options.workflowRepository);
  const refusals: RefusalContext = { repository, secrets, ...(tokenHint ? { tokenHint } : {}) };
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  let requests = 0;
  client.hook.before('request', () => {
    requests++;
  });
  let api: 'graphql' | 'rest' = options.api === 'rest' ? 'rest' : 'graphql';
  const log = options.log ?? (() => {});
  // What the read learned and the write needs (node ids, file modes, tree shas).
  let repositoryId: string | undefined;
  const refIds = new Map<string, string>();
  const modes = new Map<string, string>();

  async function guarded<T>(operation: Operation, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw toHostError(err, operation, repository, secrets, tokenHint);
    }
  }

  async function graphql<T>(document: string, variables: Record<string, unknown>): Promise<T> {
    return (await client.graphql(document, variables)) as T;
  }

  // ---------- read ----------

  async function readGraphql(request: ReadRequest): Promise<RepositorySnapshot> {
    const paths = request.paths.map(cleanPath);
    const rev = request.base ? `refs/heads/${request.base}` : 'HEAD';
    const variables: Record<string, unknown> = { owner, name };
    const declared = ['$owner: String!', '$name: String!'];
    const fields = ['id', 'defaultBranchRef { name target { oid } }'];
    const commitParents = '... on Commit { parents(first: 1) { nodes { oid } } }';
    if (request.base) {
      declared.push('$base: String!');
      variables.base = `refs/heads/${request.base}`;
      fields.push('base: ref(qualifiedName: $base) { id name target { oid } }');
    }
    if (request.branch) {
      declared.push('$branch: String!', '$head: String!');
      variables.branch = `refs/heads/${request.branch}`;
      variables.head = request.branch;
      fields.push(
        `branch: ref(qualifiedName: $branch) { id name target { oid ${commitParents} } }`,
      );
      fields.push(
        `release: pullRequests(headRefName: $head, states: [OPEN], first: 5) { nodes { ${PR_FIELDS} } }`,
      );
    }
    paths.forEach((path, i) => {
      declared.push(`$f${i}: String!`);
      variables[`f${i}`] = `${rev}:${path}`;
      fields.push(`f${i}: object(expression: $f${i}) { ${ENTRY} }`);
      if (request.branch) {
        declared.push(`$b${i}: String!`);
        variables[`b${i}`] = `refs/heads/${request.branch}:${path}`;
        fields.push(`b${i}: object(expression: $b${i}) { ${ENTRY} }`);
      }
    });
    if (request.openPullRequests) {
      fields.push(
        `open: pullRequests(states: [OPEN], first: 100, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { ${PR_FIELDS} } }`,
      );
    }
    const document = `query Release(${declared.join(', ')}) { repository(owner: $owner, name: $name) { ${fields.join(' ')} } }`;
    type Ref = {
      id: string;
      name: string;
      target: { oid: string; parents?: { nodes: { oid: string }[] } };
    } | null;
    const data = await graphql<{
      repository: {
        id: string;
        defaultBranchRef: { name: string; target: { oid: string } } | null;
        base?: Ref;
        branch?: Ref;
        release?: { nodes: GqlPr[] };
        open?: { nodes: GqlPr[] };
        [alias: string]: unknown;
      } | null;
    }>(document, variables);
    const repo = data.repository;
    if (!repo)
      throw toHostError(
        { status: 404, message: 'repository not found' },
        'read',
        repository,
        secrets,
      );
    repositoryId = repo.id;
    const defaultBranch = repo.defaultBranchRef?.name;
    if (!defaultBranch && !request.base) {
      throw new PathError(`${repository} has no default branch (is it empty?); pass --base`, {
        input: 'base',
      });
    }
    let base: { name: string; sha: string };
    if (request.base) {
      if (!repo.base) {
        throw toHostError(
          { status: 404, message: `no branch "${request.base}"` },
          'read',
          repository,
          secrets,
        );
      }
      refIds.set(request.base, repo.base.id);
      base = { name: request.base, sha: repo.base.target.oid };
    } else {
      base = { name: defaultBranch!, sha: repo.defaultBranchRef!.target.oid };
    }
    const files = await collect(paths, (i) => repo[`f${i}`] as GqlBlob | null, base.name, base.sha);
    const snapshot: RepositorySnapshot = { defaultBranch: defaultBranch ?? base.name, base, files };
    if (request.branch && repo.branch) {
      refIds.set(request.branch, repo.branch.id);
      const sha = repo.branch.target.oid;
      const branchFiles = await collect(
        paths,
        (i) => repo[`b${i}`] as GqlBlob | null,
        request.branch,
        sha,
      ).catch(() => []);
      snapshot.branch = {
        name: request.branch,
        sha,
        files: branchFiles,
        parents: (repo.branch.target.parents?.nodes ?? []).map((p) => p.oid),
      };
    }
    const release = repo.release?.nodes.find(
      (pr) => pr.baseRefName === base.name && sameRepository(pr, repository),
    );
    if (release) snapshot.pullRequest = toPr(release);
    if (repo.open)
      snapshot.openPullRequests = repo.open.nodes
        .filter((pr) => pr.baseRefName === base.name && sameRepository(pr, repository))
        .map(toPr);
    return snapshot;
  }

  async function collect(
    paths: string[],
    objectAt: (i: number) => GqlBlob | null,
    where: string,
    sha: string,
  ): Promise<ManifestFile[]> {
    const files: ManifestFile[] = [];
    const seen = new Set<string>();
    const add = async (path: string, blob: GqlBlob, mode?: number) => {
      if (seen.has(path)) return;
      seen.add(path);
      if (mode) modes.set(path, mode.toString(8));
      let text = blob.text;
      // Large blobs come truncated through GraphQL; fetch those few through REST.
      if (text == null || blob.isTruncated) {
        if (blob.isBinary) return;
        text = await rawFile(path, sha);
      }
      files.push({ path, text });
    };
    const walk = async (dir: string, tree: GqlBlob) => {
      for (const entry of tree.entries ?? []) {
        const path = `${dir}/${entry.name}`;
        if (entry.type === 'blob' && MANIFEST.test(entry.name) && entry.object) {
          await add(path, entry.object, entry.mode);
        } else if (entry.type === 'tree' && entry.object?.entries) {
          await walk(path, entry.object);
        }
      }
    };
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const object = objectAt(i);
      if (!object) {
        throw new PathError(`${path}: not found in ${repository} at ${where}`, { input: 'path' });
      }
      if (object.entries) {
        const before = files.length;
        await walk(path, object);
        if (files.length === before) {
          throw new PathError(`${path}: no *.yaml or *.yml below it in ${repository} at ${where}`, {
            input: 'path',
          });
        }
      } else {
        await add(path, object);
      }
    }
    return files;
  }

  async function rawFile(path: string, ref: string): Promise<string> {
    const res = await client.repos.getContent({
      owner,
      repo: name,
      path,
      ref,
      mediaType: { format: 'raw' },
    });
    return String(res.data);
  }

  async function readRest(request: ReadRequest): Promise<RepositorySnapshot> {
    const paths = request.paths.map(cleanPath);
    const repo = await client.repos.get({ owner, repo: name });
    repositoryId = repo.data.node_id;
    const defaultBranch = repo.data.default_branch;
    const baseName = request.base ?? defaultBranch;
    const getRef = (branch: string) =>
      client.git.getRef({ owner, repo: name, ref: `heads/${branch}` }).then(
        (r) => r.data.object.sha,
        (err) => {
          if (isStatus(err, 404)) return undefined;
          throw err;
        },
      );
    const [baseSha, branchSha, release, open] = await Promise.all([
      getRef(baseName),
      request.branch ? getRef(request.branch) : undefined,
      request.branch
        ? client.pulls.list({
            owner,
            repo: name,
            head: `${owner}:${request.branch}`,
            state: 'open',
          })
        : undefined,
      request.openPullRequests
        ? client.pulls.list({ owner, repo: name, base: baseName, state: 'open', per_page: 100 })
        : undefined,
    ]);
    if (!baseSha) {
      throw toHostError(
        { status: 404, message: `no branch "${baseName}"` },
        'read',
        repository,
        secrets,
      );
    }
    const snapshot: RepositorySnapshot = {
      defaultBranch,
      base: { name: baseName, sha: baseSha },
      files: await restFiles(paths, baseSha, baseName),
    };
    if (request.branch && branchSha) {
      const [files, commit] = await Promise.all([
        restFiles(paths, branchSha, request.branch).catch(() => []),
        client.git.getCommit({ owner, repo: name, commit_sha: branchSha }),
      ]);
      snapshot.branch = {
        name: request.branch,
        sha: branchSha,
        files,
        parents: commit.data.parents.map((p) => p.sha),
      };
    }
    const ours = (p: unknown) => restSameRepository(p as RestPr, repository);
    const pr = release?.data.find((p) => p.base.ref === baseName && ours(p));
    if (pr) snapshot.pullRequest = restPr(pr as RestPr);
    if (open) snapshot.openPullRequests = open.data.filter(ours).map((p) => restPr(p as RestPr));
    return snapshot;
  }

  async function restFiles(paths: string[], sha: string, where: string): Promise<ManifestFile[]> {
    const tree = await client.git.getTree({ owner, repo: name, tree_sha: sha, recursive: 'true' });
    const chosen: { path: string; sha: string }[] = [];
    for (const path of paths) {
      const exact = tree.data.tree.find((e) => e.path === path && e.type === 'blob');
      const below = exact
        ? [exact]
        : tree.data.tree.filter(
            (e) => e.type === 'blob' && e.path?.startsWith(`${path}/`) && MANIFEST.test(e.path),
          );
      if (below.length === 0) {
        throw new PathError(
          `${path}: not found, or no *.yaml / *.yml below it, in ${repository} at ${where}`,
          {
            input: 'path',
          },
        );
      }
      for (const e of below) {
        if (e.mode) modes.set(e.path!, e.mode);
        if (!chosen.some((c) => c.path === e.path)) chosen.push({ path: e.path!, sha: e.sha! });
      }
    }
    return Promise.all(
      chosen.map(async (c) => {
        const res = await client.repos.getContent({ owner, repo: name, path: c.path, ref: sha });
        const data = res.data as { content?: string; encoding?: string };
        const text =
          data.encoding === 'base64' && data.content !== undefined
            ? decodeManifestText(Buffer.from(data.content, 'base64'), c.path)
            : await rawFile(c.path, sha); // past 1 MB the contents API leaves content out
        return { path: c.path, text };
      }),
    );
  }

  // ---------- commit ----------

  type MutationData = {
    createRef?: { ref?: { id?: string } } | null;
    createCommitOnBranch?: { commit?: { oid?: string } } | null;
    createPullRequest?: { pullRequest?: GqlPr } | null;
    updatePullRequest?: { pullRequest?: GqlPr } | null;
  };

  /** Runs a mutation document; field errors come back beside the data (fields fail alone). */
  async function mutate(
    name: string,
    declared: string[],
    fields: string[],
    variables: Record<string, unknown>,
  ): Promise<{ data: MutationData | undefined; errors: FieldError[] }> {
    const document = `mutation ${name}(${declared.join(', ')}) { ${fields.join(' ')} }`;
    try {
      return { data: await graphql<MutationData>(document, variables), errors: [] };
    } catch (err) {
      const errors = fieldErrors(err);
      if (!errors.length) throw err; // HTTP failure, not field errors
      return { data: (err as { data?: MutationData }).data, errors };
    }
  }

  // Whether createCommitOnBranch sees a branch that createRef made earlier in the same document is
  // not documented. When it does not, the commit goes out again on its own (three round trips),
  // and the ref is created on its own for the rest of the run.
  let createRefAlone = false;

  function commitInput(request: CommitRequest) {
    const [headline, ...rest] = request.message.split('\n');
    return {
      branch: { repositoryNameWithOwner: repository, branchName: request.branch },
      message: rest.join('\n').trim() ? { headline, body: rest.join('\n').trim() } : { headline },
      expectedHeadOid: request.parent,
      fileChanges: {
        additions: request.files.map((f) => ({
          path: f.path,
          contents: Buffer.from(f.text, 'utf8').toString('base64'),
        })),
      },
    };
  }

  function pullRequestField(
    pr: PullRequestRequest | undefined,
    declared: string[],
    fields: string[],
    variables: Record<string, unknown>,
  ): 'createPullRequest' | 'updatePullRequest' | undefined {
    if (pr?.existing?.id) {
      declared.push('$update: UpdatePullRequestInput!');
      variables.update = { pullRequestId: pr.existing.id, title: pr.title, body: pr.body };
      fields.push(`updatePullRequest(input: $update) { pullRequest { ${PR_FIELDS} } }`);
      return 'updatePullRequest';
    }
    if (pr && !pr.existing) {
      declared.push('$create: CreatePullRequestInput!');
      variables.create = createInput(pr, pr.draft === true);
      fields.push(`createPullRequest(input: $create) { pullRequest { ${PR_FIELDS} } }`);
      return 'createPullRequest';
    }
    return undefined;
  }

  function createInput(pr: PullRequestRequest, draft: boolean) {
    return {
      repositoryId,
      baseRefName: pr.base,
      headRefName: pr.head,
      title: pr.title,
      body: pr.body,
      draft,
    };
  }

  const CREATE_REF =
    'createRef(input: {repositoryId: $repositoryId, name: $refName, oid: $oid}) { ref { id } }';

  /** Deletes the branch this run created when its commit was refused: nothing is left behind. */
  async function undoBranch(refId: string, branch: string): Promise<string> {
    try {
      await graphql(
        'mutation ReleaseUndo($id: ID!) { deleteRef(input: {refId: $id}) { clientMutationId } }',
        { id: refId },
      );
      return `The branch ${branch} this run created was deleted again; nothing is left behind.`;
    } catch (err) {
      return `The branch ${branch} this run created could not be deleted (${fieldErrors(err)[0]?.message ?? String(err)}): it is left behind; delete it by hand.`;
    }
  }

  async function commitGraphql(
    request: CommitRequest,
    createdRefId?: string,
  ): Promise<CommitResult> {
    const declared = ['$input: CreateCommitOnBranchInput!'];
    const fields: string[] = [];
    const variables: Record<string, unknown> = { input: commitInput(request) };
    const branchExisted = request.observed !== null;
    let refField: 'createRef' | 'updateRef' | undefined;
    if (request.observed === null && !createdRefId) {
      declared.push('$repositoryId: ID!', '$refName: String!', '$oid: GitObjectID!');
      Object.assign(variables, {
        repositoryId,
        refName: `refs/heads/${request.branch}`,
        oid: request.parent,
      });
      refField = 'createRef';
      fields.push(CREATE_REF);
      if (createRefAlone) {
        const { input: _commit, ...refVariables } = variables;
        const made = await mutate('ReleaseBranch', declared.slice(1), fields, refVariables);
        refusedRef(made.errors, 'createRef', request, branchExisted);
        const id = made.data?.createRef?.ref?.id ?? '';
        return commitGraphql(request, id);
      }
    } else if (request.observed !== null && request.observed !== request.parent) {
      declared.push('$refId: ID!', '$oid: GitObjectID!');
      Object.assign(variables, { refId: refIds.get(request.branch), oid: request.parent });
      refField = 'updateRef';
      fields.push('updateRef(input: {refId: $refId, oid: $oid, force: true}) { ref { id } }');
    }
    fields.push('createCommitOnBranch(input: $input) { commit { oid } }');
    // The pull request rides in the same document: mutation fields run in order, so it is opened
    // (or updated) right after the commit lands — a one-file release is 2 round trips, not 3.
    const prField = pullRequestField(request.pullRequest, declared, fields, variables);
    const { data, errors } = await mutate('ReleaseCommit', declared, fields, variables);

    // The first field that failed decides; the errors of later fields only follow from it.
    if (refField) refusedRef(errors, refField, request, branchExisted);
    const madeRef = createdRefId ?? data?.createRef?.ref?.id;
    const oid = data?.createCommitOnBranch?.commit?.oid;
    if (!oid) {
      const e = errorOf(errors, 'createCommitOnBranch') ?? {
        message: 'createCommitOnBranch returned no commit',
      };
      if (refField === 'createRef' && madeRef && e.type === 'NOT_FOUND') {
        createRefAlone = true;
        log('GitHub did not see the new branch within the same document; committing on its own');
        return commitGraphql(request, madeRef);
      }
      if (isRace('createCommitOnBranch', e, branchExisted)) {
        throw raceError(request.branch, e, secrets, errors);
      }
      const after = madeRef ? await undoBranch(madeRef, request.branch) : '';
      throw refusalError(e, 'write', refusals, `the commit on ${request.branch}`, after);
    }
    const pr = request.pullRequest;
    if (!pr || !prField) return { sha: oid };
    const node = data?.[prField]?.pullRequest;
    if (node) return { sha: oid, pullRequest: toPr(node) };
    const e = errorOf(errors, prField);
    if (!e) return { sha: oid };
    return { sha: oid, pullRequest: await afterPullRequestRefusal(e, pr, oid, errors) };
  }

  function refusedRef(
    errors: FieldError[],
    field: 'createRef' | 'updateRef',
    request: CommitRequest,
    branchExisted: boolean,
  ): void {
    const e = errorOf(errors, field);
    if (!e) return;
    if (isRace(field, e, branchExisted)) throw raceError(request.branch, e, secrets, errors);
    const what =
      field === 'createRef'
        ? `creating the branch ${request.branch}`
        : `resetting the leftover branch ${request.branch}`;
    throw refusalError(e, 'write', refusals, what);
  }

  /** The commit landed but the pull request field was refused: a race, a draft, or an error. */
  async function afterPullRequestRefusal(
    e: FieldError,
    pr: PullRequestRequest,
    sha: string,
    cause: unknown,
  ): Promise<PullRequestInfo> {
    if (!pr.existing && isRace('createPullRequest', e, true)) {
      throw raceError(
        pr.head,
        { message: 'another run opened its pull request first' },
        secrets,
        cause,
      );
    }
    if (!pr.existing && isDraftRefusal(e.message)) return createWithoutDraft(pr, e.message);
    throw refusalError(
      e,
      'pull-request',
      refusals,
      pr.existing ? `updating pull request #${pr.existing.number}` : 'opening the pull request',
      `The commit ${sha.slice(0, 7)} is on branch ${pr.head}; run the release again once this is fixed and it opens the pull request.`,
    );
  }

  // Draft pull requests are not offered on every plan (private repositories on GitHub Free):
  // "Draft pull requests are not supported in this repository." (cli/cli#520, fledge#260).
  function isDraftRefusal(message: string): boolean {
    return /draft pull requests are not supported/i.test(message);
  }

  function draftWarning(said: string): ReleaseWarning {
    return {
      kind: 'draft',
      message: `opened as a normal pull request, not a draft: GitHub said "${said}" (drafts need a public repository or a paid plan); drop --draft`,
    };
  }

  async function createWithoutDraft(
    pr: PullRequestRequest,
    said: string,
  ): Promise<PullRequestInfo> {
    const opened = await createPullRequestGraphql({ ...pr, draft: false });
    return { ...opened, warnings: [draftWarning(said), ...(opened.warnings ?? [])] };
  }

  async function commitRest(request: CommitRequest): Promise<CommitResult> {
    const parent = await client.git.getCommit({ owner, repo: name, commit_sha: request.parent });
    // One tree with the new texts inline: no blob call per file.
    const tree = await client.git.createTree({
      owner,
      repo: name,
      base_tree: parent.data.tree.sha,
      tree: request.files.map((f) => ({
        path: f.path,
        mode: (modes.get(f.path) ?? '100644') as '100644',
        type: 'blob' as const,
        content: f.text,
      })),
    });
    const commit = await client.git.createCommit({
      owner,
      repo: name,
      message: request.message,
      tree: tree.data.sha,
      parents: [request.parent],
      ...(request.author ? { author: request.author } : {}),
      ...(request.committer ? { committer: request.committer } : {}),
    });
    const sha = commit.data.sha;
    try {
      if (request.observed === null) {
        await client.git.createRef({ owner, repo: name, ref: `refs/heads/${request.branch}`, sha });
      } else {
        // Not forced when building on the observed head: GitHub refuses a non-fast-forward, which
        // is the compare-and-swap. A leftover branch being rebuilt is forced.
        await client.git.updateRef({
          owner,
          repo: name,
          ref: `heads/${request.branch}`,
          sha,
          force: request.observed !== request.parent,
        });
      }
    } catch (err) {
      throw restRefRefusal(err, request);
    }
    return { sha };
  }

  /**
   * A 422 on a ref write is a race only when GitHub says the reference already exists (create) or
   * the update is not a fast-forward / the branch is gone (update). A ruleset or protection refusal
   * ("Repository rule violations found …", "Reference update failed") is an error: the commit
   * object made before it is unreachable, so no branch is left behind.
   */
  function restRefRefusal(err: unknown, request: CommitRequest): Error {
    const status = restStatus(err);
    const e = restFieldError(err);
    if (status === 422) {
      const race =
        request.observed === null
          ? /reference already exists/i.test(e.message)
          : /not a fast.?forward|reference does not exist/i.test(e.message);
      if (race) return raceError(request.branch, e, secrets, err);
    }
    if (status === 401 || status === 403 || status === 404) {
      return toHostError(err, 'write', repository, secrets, tokenHint);
    }
    const what =
      request.observed === null
        ? `creating the branch ${request.branch}`
        : `moving the branch ${request.branch}`;
    return refusalError(e, 'write', refusals, what);
  }

  // ---------- pull request ----------

  async function createPullRequestGraphql(request: PullRequestRequest): Promise<PullRequestInfo> {
    try {
      const data = await graphql<{ createPullRequest: { pullRequest: GqlPr } }>(
        `mutation ReleaseCreate($input: CreatePullRequestInput!) { createPullRequest(input: $input) { pullRequest { ${PR_FIELDS} } } }`,
        { input: createInput(request, request.draft === true) },
      );
      return toPr(data.createPullRequest.pullRequest);
    } catch (err) {
      const e = fieldErrors(err)[0];
      if (!e) throw err;
      if (isRace('createPullRequest', e, true)) {
        throw raceError(
          request.head,
          { message: 'another run opened its pull request first' },
          secrets,
          err,
        );
      }
      if (request.draft && isDraftRefusal(e.message)) return createWithoutDraft(request, e.message);
      throw refusalError(e, 'pull-request', refusals, 'opening the pull request');
    }
  }

  async function upsertGraphql(request: PullRequestRequest): Promise<PullRequestInfo> {
    if (!request.existing) return createPullRequestGraphql(request);
    const data = await graphql<{ updatePullRequest: { pullRequest: GqlPr } }>(
      `mutation ReleaseUpdate($input: UpdatePullRequestInput!) { updatePullRequest(input: $input) { pullRequest { ${PR_FIELDS} } } }`,
      { input: { pullRequestId: request.existing.id, title: request.title, body: request.body } },
    ).catch((err) => {
      const e = fieldErrors(err)[0];
      if (!e) throw err;
      throw refusalError(
        e,
        'pull-request',
        refusals,
        `updating pull request #${request.existing!.number}`,
      );
    });
    return toPr(data.updatePullRequest.pullRequest);
  }

  async function upsertRest(request: PullRequestRequest): Promise<PullRequestInfo> {
    if (request.existing) {
      const res = await client.pulls.update({
        owner,
        repo: name,
        pull_number: request.existing.number,
        title: request.title,
        body: request.body,
      });
      return restPr(res.data as RestPr);
    }
    const create = (draft: boolean) =>
      client.pulls.create({
        owner,
        repo: name,
        base: request.base,
        head: request.head,
        title: request.title,
        body: request.body,
        draft,
      });
    try {
      return restPr((await create(request.draft === true)).data as RestPr);
    } catch (err) {
      const status = restStatus(err);
      const e = restFieldError(err);
      if (status === 422 && /already exists/i.test(e.message)) {
        throw raceError(
          request.head,
          { message: 'another run opened its pull request first' },
          secrets,
          err,
        );
      }
      if (status === 422 && request.draft && isDraftRefusal(e.message)) {
        const opened = restPr((await create(false)).data as RestPr);
        return { ...opened, warnings: [draftWarning(e.message)] };
      }
      if (status === 401 || status === 403 || status === 404) throw err; // guarded names the permission
      throw refusalError(e, 'pull-request', refusals, 'opening the pull request');
    }
  }

  // ---------- the out-of-order guard's reach ----------

  const unreadable = new Set<string>();
  /** One warning per run when the token cannot read the application repository. */
  async function warnIfUnreadable(
    appRepository: string,
    app: { owner: string; name: string },
  ): Promise<void> {
    if (unreadable.has(appRepository)) return;
    const status = await client.repos.get({ owner: app.owner, repo: app.name }).then(
      () => 200,
      (e: unknown) => (e as { status?: number }).status ?? 0,
    );
    if (status !== 404 && status !== 403) return;
    unreadable.add(appRepository);
    log(
      `warning: the out-of-order guard is off: the token cannot read the application repository ${appRepository} (HTTP ${status}), so an older commit's image could replace a newer one. Give the token "contents: read" on ${appRepository} too (a GitHub App token: list both repositories, e.g. repositories: manifests,${app.name}; a fine-grained token: add ${appRepository} to its repositories).`,
    );
  }
  const extrasContext: ExtrasContext = {
    client,
    owner,
    name,
    repository,
    secrets,
    api: () => api,
    graphql,
    sleep,
    ...(tokenHint ? { tokenHint } : {}),
  };

  // ---------- the host ----------

  const host: GitHubHost = {
    kind: 'github',
    repository,
    supportsPullRequests: true,
    client,
    get api() {
      return api;
    },
    get requests() {
      return requests;
    },

    read: (request) =>
      guarded('read', async () => {
        if (api === 'rest') return readRest(request);
        try {
          return await readGraphql(request);
        } catch (err) {
          // No GraphQL endpoint (some Enterprise Server setups, proxies): the REST Git Data API.
          if (options.api === 'auto' && isStatus(err, 404, 410, 501)) {
            log('GitHub GraphQL API not available; using the REST Git Data API');
            api = 'rest';
            return readRest(request);
          }
          throw err;
        }
      }),

    // createCommitOnBranch takes no author: a commit naming one goes through the Git Data API.
    commit: (request) =>
      guarded('write', () =>
        api === 'rest' || request.author || request.committer
          ? commitRest(request)
          : commitGraphql(request),
      ),

    upsertPullRequest: (request) =>
      guarded('pull-request', () =>
        api === 'rest' ? upsertRest(request) : upsertGraphql(request),
      ),

    applyExtras: (pr, extras) => applyGitHubExtras(extrasContext, pr, extras),

    closePullRequest: (pr, comment, close = {}) =>
      guarded('pull-request', async () => {
        if (api === 'rest' || !pr.id) {
          await client.issues.createComment({
            owner,
            repo: name,
            issue_number: pr.number,
            body: comment,
          });
          await client.pulls.update({ owner, repo: name, pull_number: pr.number, state: 'closed' });
        } else {
          await graphql(
            'mutation ReleaseClose($id: ID!, $body: String!) { addComment(input: {subjectId: $id, body: $body}) { clientMutationId } closePullRequest(input: {pullRequestId: $id}) { pullRequest { number } } }',
            { id: pr.id, body: comment },
          );
        }
        // The closed pull request keeps its commits; the branch is clutter. Already gone is fine.
        if (close.deleteBranch)
          await client.git
            .deleteRef({ owner, repo: name, ref: `heads/${pr.head}` })
            .catch((err: unknown) => {
              if (!isStatus(err, 404, 422)) throw err;
            });
      }),

    async compareCommits(request: CompareRequest): Promise<CommitComparison | undefined> {
      const app = splitRepository(request.repository);
      try {
        const res = await client.repos.compareCommitsWithBasehead({
          owner: app.owner,
          repo: app.name,
          basehead: `${request.base}...${request.head}`,
        });
        return {
          status: res.data.status,
          url: res.data.html_url,
          commits: res.data.commits.map((c) => ({
            sha: c.sha,
            message: c.commit.message.split('\n')[0] ?? '',
            ...(c.author?.login
              ? { author: c.author.login }
              : c.commit.author?.name
                ? { author: c.commit.author.name }
                : {}),
          })),
        };
      } catch (err) {
        // A tag that is not a commit of the app repository: nothing to compare, no guard. But a
        // token that cannot read the repository at all answers the same 404: then say the guard is off.
        if (isStatus(err, 404, 422, 403)) {
          if (!isStatus(err, 422)) await warnIfUnreadable(request.repository, app);
          return undefined;
        }
        throw toHostError(err, 'compare', request.repository, secrets);
      }
    },
  };
  return host;
}
