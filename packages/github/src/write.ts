import type {
  CommitRequest,
  CommitResult,
  PullRequestInfo,
  PullRequestRequest,
  ReleaseWarning,
} from '@gitops-release/core';
import type { HostContext } from './context.js';
import { toHostError } from './errors.js';
import { type GqlPr, PR_FIELDS, type RestPr, restPr, toPr } from './github-shapes.js';
import {
  errorOf,
  type FieldError,
  fieldErrors,
  isRace,
  raceError,
  refusalError,
  restFieldError,
  restStatus,
} from './refusals.js';

// The write: one commit (compare-and-swap) with the pull request in the same GraphQL document,
// or the REST Git Data API; then the pull request on its own where the commit could not carry it.

/** The server's GraphQL schema has no createCommitOnBranch (GitHub Enterprise Server before 3.4). */
export class MutationMissing extends Error {}

export function createWriter(ctx: HostContext) {
  const { owner, name, repository, client, secrets, refusals, log, graphql, refIds, modes } = ctx;
  const tokenHint = refusals.tokenHint;

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
      repositoryId: ctx.repositoryId,
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
        repositoryId: ctx.repositoryId,
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
    // A schema without the mutation (Enterprise Server before 3.4) refuses the whole document.
    if (errors.some((e) => !e.path && /createCommitOnBranch/.test(e.message))) {
      throw new MutationMissing(errors.map((e) => e.message).join('; '));
    }

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

  return { commitGraphql, commitRest, upsertGraphql, upsertRest };
}
