import {
  decodeManifestText,
  PathError,
  type ReadRequest,
  type RepositorySnapshot,
} from '@gitops-release/core';
import type { HostContext, ManifestFile } from './context.js';
import { toHostError } from './errors.js';
import {
  BLOB,
  cleanPath,
  ENTRY,
  type GqlBlob,
  type GqlPr,
  isStatus,
  MANIFEST,
  PR_FIELDS,
  type RestPr,
  restPr,
  restSameRepository,
  sameRepository,
  TREE_DEPTH,
  toPr,
  treeFields,
} from './github-shapes.js';

// The read: one GraphQL query for the branch heads, the target files and the release pull
// request (directories' YAML texts in one more), or the REST Git Data API where GraphQL is not.

export function createReader(ctx: HostContext) {
  const { owner, name, repository, client, secrets, modes, refIds, blobs, graphql } = ctx;

  async function readGraphql(request: ReadRequest): Promise<RepositorySnapshot> {
    const paths = request.paths.map(cleanPath);
    const rev = request.base ? `refs/heads/${request.base}` : 'HEAD';
    const variables: Record<string, unknown> = { owner, name };
    const declared = ['$owner: String!', '$name: String!'];
    const commitParents = '... on Commit { parents(first: 1) { nodes { oid } } }';
    const fields = ['id', `defaultBranchRef { name target { oid ${commitParents} } }`];
    if (request.base) {
      declared.push('$base: String!');
      variables.base = `refs/heads/${request.base}`;
      fields.push(`base: ref(qualifiedName: $base) { id name target { oid ${commitParents} } }`);
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
        defaultBranchRef: {
          name: string;
          target: { oid: string; parents?: { nodes: { oid: string }[] } };
        } | null;
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
    ctx.repositoryId = repo.id;
    const defaultBranch = repo.defaultBranchRef?.name;
    if (!defaultBranch && !request.base) {
      throw new PathError(`${repository} has no default branch (is it empty?); pass --base`, {
        input: 'base',
      });
    }
    let base: { name: string; sha: string; parents?: string[] };
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
      base = {
        name: request.base,
        sha: repo.base.target.oid,
        parents: (repo.base.target.parents?.nodes ?? []).map((p) => p.oid),
      };
    } else {
      const head = repo.defaultBranchRef!.target;
      base = {
        name: defaultBranch!,
        sha: head.oid,
        parents: (head.parents?.nodes ?? []).map((p) => p.oid),
      };
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

  /**
   * The target files at one revision: files given by path come with their text in the read;
   * directories come as structure, and their *.yaml / *.yml texts (and trees deeper than the
   * read expands) follow in one more query per level.
   */
  async function collect(
    paths: string[],
    objectAt: (i: number) => GqlBlob | null,
    where: string,
    sha: string,
  ): Promise<ManifestFile[]> {
    const found: { path: string; oid: string }[] = [];
    const deeper: { path: string; oid: string }[] = [];
    const walk = (dir: string, tree: GqlBlob) => {
      for (const entry of tree.entries ?? []) {
        const path = `${dir}/${entry.name}`;
        if (entry.type === 'blob' && MANIFEST.test(entry.name) && entry.oid) {
          if (entry.mode) modes.set(path, entry.mode.toString(8));
          found.push({ path, oid: entry.oid });
        } else if (entry.type === 'tree' && entry.object?.entries) walk(path, entry.object);
        else if (entry.type === 'tree' && entry.oid) deeper.push({ path, oid: entry.oid });
      }
    };
    const direct = new Map<string, GqlBlob>();
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      const object = objectAt(i);
      if (!object) {
        throw new PathError(`${path}: not found in ${repository} at ${where}`, { input: 'path' });
      }
      if (object.entries) walk(path, object);
      else direct.set(path, object);
    }
    while (deeper.length || found.some((f) => !blobs.has(f.oid))) {
      const trees = deeper.splice(0);
      const texts = [...new Set(found.map((f) => f.oid).filter((oid) => !blobs.has(oid)))];
      const declared = ['$owner: String!', '$name: String!'];
      const fields: string[] = [];
      const variables: Record<string, unknown> = { owner, name };
      trees.forEach((t, i) => {
        declared.push(`$t${i}: GitObjectID!`);
        variables[`t${i}`] = t.oid;
        fields.push(`t${i}: object(oid: $t${i}) { ... on Tree { ${treeFields(TREE_DEPTH)} } }`);
      });
      texts.forEach((oid, i) => {
        declared.push(`$x${i}: GitObjectID!`);
        variables[`x${i}`] = oid;
        fields.push(`x${i}: object(oid: $x${i}) { ${BLOB} }`);
      });
      const data = await graphql<{ repository: Record<string, GqlBlob | null> }>(
        `query ReleaseFiles(${declared.join(', ')}) { repository(owner: $owner, name: $name) { ${fields.join(' ')} } }`,
        variables,
      );
      trees.forEach((t, i) => {
        const tree = data.repository[`t${i}`];
        if (tree) walk(t.path, tree);
      });
      texts.forEach((oid, i) => {
        blobs.set(oid, data.repository[`x${i}`] ?? { oid, text: null, isBinary: true });
      });
    }
    const files: ManifestFile[] = [];
    const seen = new Set<string>();
    const add = async (path: string, blob: GqlBlob) => {
      if (seen.has(path)) return;
      seen.add(path);
      // A binary file where YAML was expected is reported, not silently skipped.
      if (blob.isBinary) {
        throw new PathError(`${path}: a binary file in ${repository} at ${where}, not YAML text`, {
          input: 'path',
        });
      }
      // GraphQL cuts texts past 512,000 bytes (isTruncated); fetch those few whole through REST.
      const text = blob.text == null || blob.isTruncated ? await rawFile(path, sha) : blob.text;
      files.push({ path, text });
    };
    for (const path of paths) {
      const file = direct.get(path);
      if (file) {
        await add(path, file);
        continue;
      }
      const below = found.filter((f) => f.path.startsWith(`${path}/`));
      if (below.length === 0) {
        throw new PathError(`${path}: no *.yaml or *.yml below it in ${repository} at ${where}`, {
          input: 'path',
        });
      }
      for (const f of below) await add(f.path, blobs.get(f.oid)!);
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
    ctx.repositoryId = repo.data.node_id;
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

  type RestEntry = { path?: string; mode?: string; type?: string; sha?: string };

  /**
   * The entries below one path when the whole recursive tree came back truncated (GitHub lists at
   * most 100,000 entries or 7 MB): the path's own tree, reached one level at a time.
   */
  async function subtree(sha: string, path: string, where: string): Promise<RestEntry[]> {
    let treeSha = sha;
    const segments = path.split('/');
    for (let i = 0; i < segments.length; i++) {
      const level = await client.git.getTree({ owner, repo: name, tree_sha: treeSha });
      const entry = level.data.tree.find((e) => e.path === segments[i]);
      if (!entry?.sha) return [];
      if (entry.type === 'blob') return i === segments.length - 1 ? [{ ...entry, path }] : [];
      treeSha = entry.sha;
    }
    const below = await client.git.getTree({
      owner,
      repo: name,
      tree_sha: treeSha,
      recursive: 'true',
    });
    if (below.data.truncated) {
      throw new PathError(
        `${path}: more entries below it in ${repository} at ${where} than GitHub lists in one tree (truncated); give a narrower --path`,
        { input: 'path' },
      );
    }
    return below.data.tree.map((e) => ({ ...e, path: `${path}/${e.path}` }));
  }

  async function restFiles(paths: string[], sha: string, where: string): Promise<ManifestFile[]> {
    const tree = await client.git.getTree({ owner, repo: name, tree_sha: sha, recursive: 'true' });
    const chosen: { path: string; sha: string }[] = [];
    for (const path of paths) {
      const entries: RestEntry[] = tree.data.truncated
        ? await subtree(sha, path, where)
        : tree.data.tree;
      const exact = entries.find((e) => e.path === path && e.type === 'blob');
      const below = exact
        ? [exact]
        : entries.filter(
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
        if (text.includes('\u0000')) {
          throw new PathError(
            `${c.path}: a binary file in ${repository} at ${where}, not YAML text`,
            {
              input: 'path',
            },
          );
        }
        return { path: c.path, text };
      }),
    );
  }

  return { readGraphql, readRest, rawFile };
}
