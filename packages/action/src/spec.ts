// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${{ }} here are GitHub expressions users write, not templates
// The one spec of every option of every surface. action.yml, the sub-directory actions
// (build-and-push-image/, create-release-pr/) and the README's tables are generated from it
// (scripts/action-yml.mjs, run by `pnpm build`); inputs.ts reads the Action's inputs by it; the
// parity test (test/parity/) holds the CLI's options, the orb's parameters and core's request
// fields to it. An option a surface lacks says why, next to it.
//
// To add an option: add it to INPUTS (or give a reason where a surface lacks it), read it in
// inputs.ts and pass it in the command's request (commands/*.ts), add the CLI flag and the orb
// parameter, run `pnpm build` (writes the action.yml files) and `node scripts/action-docs.mjs`,
// and give it a sample in test/parity/reach-core.test.ts. A new command: COMMANDS, CLI_COMMAND.
//
// Names: one per idea, the CLI's spelling in each surface's case (`--app-repo`, `app-repo`,
// `app_repo`); a repeatable flag is a list input and takes the plural (`--path` → `paths`). Any
// other difference is written down as `rename` with its reason.

export const COMMANDS = ['build_and_push_image', 'create_release_pr', 'promote'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** The CLI's name of each command, and its sub-directory action. */
export const CLI_COMMAND: Record<CommandName, string> = {
  build_and_push_image: 'build-and-push-image',
  create_release_pr: 'create-release-pr',
  promote: 'promote',
};

export const BUILDERS = ['auto', 'docker', 'buildah', 'podman'] as const;
export const HOSTS = ['github', 'git'] as const;
export const MODES = ['pull-request', 'push'] as const;
export const MERGE_METHODS = ['squash', 'merge', 'rebase'] as const;
export const APIS = ['auto', 'graphql', 'rest'] as const;

/**
 * `list`: one per line or comma-separated. `lines`: one per line only, because an item may hold
 * commas (a cache spec `type=registry,ref=…,mode=max`, a build argument's value).
 */
export type Kind = 'string' | 'boolean' | 'list' | 'lines' | 'enum' | 'integer';

/** A surface that does not have the option, and why. */
export interface Absent {
  absent: string;
}

export interface InputSpec {
  kind: Kind;
  /** Which commands read it; `all` for every one. */
  for: CommandName | 'all' | readonly CommandName[];
  description: string;
  /** A command's own wording of an input both read, for its sub-directory action. */
  per?: Partial<Record<CommandName, string>>;
  /** The default action.yml declares (the runner passes it when the input is not given). */
  default?: string;
  /** Required in the sub-directory action of its command (the root action requires only `command`). */
  required?: boolean;
  /** Never printed; masked as soon as it is read. */
  secret?: boolean;
  values?: readonly string[];
  /** The CLI flags (without `--`) that carry it, or why the CLI has none. */
  cli: string[] | Absent;
  /** The orb parameter; default: the input's name in snake_case. */
  orb?: string | Absent;
  /** The GitLab CI/CD component's input (templates/); default: the orb's name. */
  gitlab?: string | Absent;
  /** Why a name differs from the CLI's spelling (the parity test asks for it). */
  rename?: string;
  /**
   * The field of core's request it becomes (BuildAndPushRequest, ReleaseRequest; a dotted path),
   * per command where the two differ.
   */
  core: string | Absent | Partial<Record<CommandName, string | Absent>>;
  /** A surface that has the option for one command but not the other, and why. */
  notIn?: Partial<Record<CommandName, { cli?: string; orb?: string; gitlab?: string }>>;
}

const GITHUB = 'the Action takes the value itself, as Actions inputs do (`${{ secrets.X }}`)';
const ORB_ENV =
  'the orb names the environment variable that holds it (an env_var_name parameter), so the value never appears in config';

const GITLAB_COMMIT =
  "the GitLab component's create_release_pr takes the commit from CI_COMMIT_SHA (7 characters); the CLI's --commit and --sha-length (issue 13) have no component input yet";

/** Every input of the Action, in the order action.yml lists them. */
export const INPUTS = {
  command: {
    kind: 'enum',
    for: 'all',
    values: COMMANDS,
    description:
      'What to do: `build_and_push_image` (build the image, tag it with the commit, push it), `create_release_pr` (set the new image tag in the manifest repository and open the release pull request) or `promote` (copy the version one environment deploys into another, by pull request or push). Only in the root action; the sub-directory actions `build-and-push-image`, `create-release-pr` and `promote` are one command each.',
    cli: { absent: 'the CLI names the command as its first argument' },
    orb: { absent: 'the orb has one command (and one job) per command' },
    core: { absent: 'chooses which core function runs' },
  },
  'dry-run': {
    kind: 'boolean',
    for: 'all',
    default: 'false',
    description:
      '`true` to plan and print without writing: no build or push, no commit, no pull request.',
    cli: ['dry-run'],
    core: 'dryRun',
  },
  'github-token': {
    kind: 'string',
    for: 'all',
    secret: true,
    default: '${{ github.token }}',
    description:
      "Token for the GitHub API. `create_release_pr` needs one that can write to the manifest repository (contents and pull requests): a GitHub App token or a fine-grained token, because the workflow's own token only reaches its own repository. `build_and_push_image` logs in to `ghcr.io` with it when no `password` is given and no earlier `docker login` (docker/login-action) to `ghcr.io` is there. Masked in the log.",
    per: {
      build_and_push_image:
        'Token for `ghcr.io`: used to log in there when no `password` is given and no earlier `docker login` (docker/login-action) to `ghcr.io` is there; needs `packages: write`. Masked in the log.',
      create_release_pr:
        "Token for the GitHub API that can write to the manifest repository (contents and pull requests): a GitHub App token or a fine-grained token, because the workflow's own token only reaches its own repository. Masked in the log.",
    },
    cli: ['token-env'],
    orb: 'token_env',
    rename: `${GITHUB}; the CLI and the orb name the environment variable that holds it (--token-env, token_env), so a token is never on a command line`,
    notIn: {
      build_and_push_image: {
        cli: 'a ghcr.io login is --password-env GITHUB_TOKEN, as for any registry',
        orb: 'a ghcr.io login is username and password_env, as for any registry',
        gitlab:
          "GitLab CI has no GITHUB_TOKEN: the GitLab registry login is the job's CI_REGISTRY_PASSWORD, another registry's password_env",
      },
    },
    core: { absent: 'a credential of the host port, not a request field' },
  },
  image: {
    kind: 'list',
    for: 'all',
    description:
      '`build_and_push_image`: the image name without tag, e.g. `ghcr.io/OWNER/APP` or `REGION-docker.pkg.dev/PROJECT/REPO/APP`. `create_release_pr`: the image or images to release, one per line or comma-separated; one given without a tag gets `tag`. Upper-case letters in the repository path (from `${{ github.repository }}` with a mixed-case owner) are lowercased, with a notice, as registries require.',
    per: {
      build_and_push_image:
        'The image name without tag, e.g. `ghcr.io/OWNER/APP` or `REGION-docker.pkg.dev/PROJECT/REPO/APP`; upper-case letters (from `${{ github.repository }}` with a mixed-case owner) are lowercased, with a notice, as registries require.',
      create_release_pr:
        'The image or images to release, one per line or comma-separated; one given without a tag gets `tag`. Upper-case letters in the name are lowercased, with a notice.',
      promote:
        'The names (no tag) of the images to promote, one per line or comma-separated; empty means every image both environments deploy whose version differs.',
    },
    required: true,
    cli: ['image'],
    core: { build_and_push_image: 'image', create_release_pr: 'images', promote: 'images' },
  },
  tag: {
    kind: 'string',
    for: ['build_and_push_image', 'create_release_pr'],
    description:
      'The image tag. Defaults to the commit (`commit`, else `GITHUB_SHA`) shortened to `sha-length` characters.',
    cli: ['tag'],
    notIn: {
      create_release_pr: { cli: 'the CLI takes each image with its tag, --image IMAGE:TAG' },
    },
    core: { build_and_push_image: 'tag', create_release_pr: 'images.0.tag' },
  },
  commit: {
    kind: 'string',
    for: ['build_and_push_image', 'create_release_pr'],
    description:
      "The full SHA of the application commit the image is built from, when it is not `GITHUB_SHA`: on `pull_request` events `GITHUB_SHA` is GitHub's merge commit, so pass `${{ github.event.pull_request.head.sha }}` to tag the branch's own commit. It makes the default tag, the image's revision label and `{sha}` in the release's templates.",
    cli: ['commit'],
    orb: {
      absent:
        "CircleCI's commit is the pipeline's (CIRCLE_SHA1): there is no merge commit to correct",
    },
    gitlab: 'commit',
    notIn: { create_release_pr: { gitlab: GITLAB_COMMIT } },
    core: { build_and_push_image: 'commitSha', create_release_pr: 'sha' },
  },
  'sha-length': {
    kind: 'integer',
    for: ['build_and_push_image', 'create_release_pr'],
    default: '7',
    description: 'How many characters of the commit SHA make the default tag (4 to 40).',
    cli: ['sha-length'],
    notIn: { create_release_pr: { gitlab: GITLAB_COMMIT } },
    core: { build_and_push_image: 'shaLength', create_release_pr: 'sha' },
  },
  // build_and_push_image
  'extra-tags': {
    kind: 'list',
    for: 'build_and_push_image',
    description:
      'Extra tags to push the same image under (e.g. `latest`), one per line or comma-separated. A full reference of the same image (`ghcr.io/OWNER/APP:latest`, as docker/build-push-action takes them) is accepted.',
    cli: ['extra-tag'],
    core: 'extraTags',
  },
  context: {
    kind: 'string',
    for: 'build_and_push_image',
    default: '.',
    description: 'The build context directory.',
    cli: ['context'],
    core: 'context',
  },
  file: {
    kind: 'string',
    for: 'build_and_push_image',
    description: 'The Dockerfile, when it is not `Dockerfile` in the context.',
    cli: ['file'],
    core: 'dockerfile',
  },
  target: {
    kind: 'string',
    for: 'build_and_push_image',
    description: 'The stage of a multi-stage Dockerfile to build.',
    cli: ['target'],
    core: 'target',
  },
  builder: {
    kind: 'enum',
    for: 'build_and_push_image',
    values: BUILDERS,
    default: 'auto',
    description:
      '`auto` (Docker when a daemon answers, else buildah, else podman), `docker`, `buildah` or `podman` (the last two need no daemon, for runners inside Kubernetes).',
    cli: ['builder'],
    core: { absent: 'chooses the Builder port' },
  },
  'build-args': {
    kind: 'lines',
    for: 'build_and_push_image',
    description: 'Build arguments, `KEY=VALUE`, one per line (a value may hold commas).',
    cli: ['build-arg'],
    core: 'buildArgs',
  },
  'image-labels': {
    kind: 'lines',
    for: 'build_and_push_image',
    description:
      'Image labels, `KEY=VALUE`, one per line. The OCI labels revision, source and created are set by default.',
    cli: ['label'],
    rename:
      'the root action has one namespace for both commands and `labels` is the pull request\'s; "image-labels" says whose labels they are (a `labels` given to a build is warned about, naming this input)',
    core: 'labels',
  },
  platforms: {
    kind: 'list',
    for: 'build_and_push_image',
    description:
      'Target platforms, e.g. `linux/amd64,linux/arm64` (Docker buildx, buildah or podman).',
    cli: ['platform'],
    core: 'platforms',
  },
  'cache-from': {
    kind: 'lines',
    for: 'build_and_push_image',
    description: 'Cache sources, one per line; each is kept whole (`type=registry,ref=REF`).',
    cli: ['cache-from'],
    core: 'cacheFrom',
  },
  'cache-to': {
    kind: 'lines',
    for: 'build_and_push_image',
    description:
      'Cache destinations, one per line; each is kept whole (`type=registry,ref=REF,mode=max`).',
    cli: ['cache-to'],
    core: 'cacheTo',
  },
  username: {
    kind: 'string',
    for: ['build_and_push_image', 'promote'],
    description: 'Registry user name, with `password`.',
    cli: ['username'],
    core: { absent: 'a credential of the registry port' },
  },
  password: {
    kind: 'string',
    for: ['build_and_push_image', 'promote'],
    secret: true,
    description:
      'Registry password or token, with `username`. Masked in the log. Without it, ECR logs in with the AWS credentials aws-actions/configure-aws-credentials set, and `ghcr.io` with `github-token`; a Google access token (google-github-actions/auth) goes here with no `username` (`oauth2accesstoken` is implied).',
    cli: ['password-env', 'password-stdin'],
    orb: 'password_env',
    rename: `${GITHUB}; the CLI reads it from a variable or stdin (--password-env, --password-stdin) and ${ORB_ENV}`,
    core: { absent: 'a credential of the registry port' },
  },
  'gcp-key': {
    kind: 'string',
    for: ['build_and_push_image', 'promote'],
    secret: true,
    description:
      'A Google service-account JSON key for GCR or Artifact Registry (it logs in as `_json_key`). Masked in the log.',
    cli: ['gcp-key-env'],
    orb: 'gcp_key_env',
    rename: `${GITHUB}; the CLI reads it from a variable (--gcp-key-env) and ${ORB_ENV}`,
    core: { absent: 'a credential of the registry port' },
  },
  'skip-existing': {
    kind: 'boolean',
    for: 'build_and_push_image',
    description:
      'When the tag is already in the registry, build and push nothing and report the existing digest. Defaults to `true` when the tag is the commit SHA (it then names exactly one build), else `false`.',
    cli: ['skip-existing', 'no-skip-existing'],
    core: 'skipExisting',
  },
  'registry-ca': {
    kind: 'string',
    for: 'build_and_push_image',
    description:
      "Path of a PEM bundle with the CA that signed the registry's certificate (a Harbor on premises), trusted on top of the runner's CAs; buildah and podman get it as `--cert-dir`, docker's daemon in its `certs.d`.",
    cli: ['registry-ca'],
    gitlab: {
      absent:
        'the GitLab component (issue 12) has no input for it yet; its script can pass the CLI flag',
    },
    core: { absent: 'TLS trust of the registry port and the builder, not a request field' },
  },
  'insecure-registries': {
    kind: 'list',
    for: 'build_and_push_image',
    description:
      'Registries (`HOST` or `HOST:PORT`, one per line or comma-separated) whose TLS certificate is not verified and that may speak plain HTTP. Warned about in the log; for docker, the daemon must list them in its `insecure-registries` too.',
    cli: ['insecure-registry'],
    gitlab: {
      absent:
        'the GitLab component (issue 12) has no input for it yet; its script can pass the CLI flag',
    },
    rename: 'the plural of registry: the rule would spell it insecure-registrys',
    core: { absent: 'TLS trust of the registry port and the builder, not a request field' },
  },
  push: {
    kind: 'boolean',
    for: 'build_and_push_image',
    default: 'true',
    description:
      '`false` builds only (pull-request CI): the registry is asked nothing, no login is needed, and nothing is pushed; the result is `built-not-pushed`.',
    cli: ['push', 'no-push'],
    core: 'push',
  },
  secrets: {
    kind: 'lines',
    for: 'build_and_push_image',
    secret: true,
    description:
      'Build secrets, `ID=VALUE`, one per line, for `RUN --mount=type=secret,id=ID` (BuildKit `--secret` with Docker buildx, `--secret` with buildah and podman). Handed to the builder as private files, never as build args; masked, and hidden in the build log.',
    cli: { absent: 'the CLI takes no secret on its command line: --secret-env names the variable' },
    orb: { absent: 'a value would sit in the config: the orb names variables (secret_envs)' },
    core: 'secrets',
  },
  'secret-envs': {
    kind: 'lines',
    for: 'build_and_push_image',
    description:
      'Build secrets taken from environment variables, `ID=VARIABLE`, one per line (e.g. `npm_token=NPM_TOKEN` with `env: NPM_TOKEN: ...` on the step).',
    cli: ['secret-env'],
    core: 'secrets',
  },
  'no-cache': {
    kind: 'boolean',
    for: 'build_and_push_image',
    default: 'false',
    description: 'Build every step again, ignoring the layer cache.',
    cli: ['no-cache'],
    core: 'noCache',
  },
  pull: {
    kind: 'boolean',
    for: 'build_and_push_image',
    default: 'false',
    description: 'Pull newer versions of the base images even when a copy is present.',
    cli: ['pull'],
    core: 'pull',
  },
  // create_release_pr
  repo: {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    required: true,
    description: 'The manifest repository, `OWNER/NAME` on GitHub, or a git URL.',
    cli: ['repo'],
    core: { absent: 'names the GitHost port' },
  },
  base: {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    description: "The branch to release into. Defaults to the repository's default branch.",
    cli: ['base'],
    core: 'base',
  },
  paths: {
    kind: 'list',
    for: 'create_release_pr',
    required: true,
    description:
      'The files or directories to edit in the manifest repository (e.g. `overlays/staging`), one per line or comma-separated.',
    cli: ['path'],
    core: 'paths',
  },
  host: {
    kind: 'enum',
    for: ['create_release_pr', 'promote'],
    values: HOSTS,
    description:
      '`github` (through the API, no clone) or `git` (any git remote). Defaults to `git` when `repo` is a URL or a path, else `github`.',
    cli: ['host'],
    core: { absent: 'chooses the GitHost port' },
  },
  'github-url': {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    description:
      "The GitHub API URL, for GitHub Enterprise Server. Defaults to the runner's `GITHUB_API_URL`.",
    cli: ['github-url'],
    core: { absent: 'configures the GitHub host port' },
  },
  api: {
    kind: 'enum',
    for: ['create_release_pr', 'promote'],
    values: APIS,
    default: 'auto',
    description:
      'On GitHub, the API to write with: `auto` (GraphQL, signed commits; the REST Git Data API where GraphQL is not available), `graphql` or `rest`.',
    cli: ['api'],
    core: { absent: 'configures the GitHub host port' },
  },
  mode: {
    kind: 'enum',
    for: ['create_release_pr', 'promote'],
    values: MODES,
    default: 'pull-request',
    description:
      '`pull-request` (a person merges; continuous delivery) or `push` (commit straight to the base branch; continuous deployment).',
    cli: ['mode'],
    core: 'mode',
  },
  branch: {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    description:
      "The release branch name template (default `release-{sha}`). Templates know `{sha}` (the short commit SHA), `{app}` (the application repository's name), `{tag}`, `{image}` and `{base}`.",
    cli: ['branch'],
    core: 'branchTemplate',
  },
  title: {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    description: 'The pull request title template (default `Release {app} {sha}`).',
    cli: ['title'],
    core: 'titleTemplate',
  },
  'commit-message': {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    description: 'The commit message template (default: the title).',
    cli: ['commit-message'],
    core: 'messageTemplate',
  },
  labels: {
    kind: 'list',
    for: ['create_release_pr', 'promote'],
    description: 'Labels to put on the pull request, one per line or comma-separated.',
    cli: ['label'],
    core: 'labels',
  },
  reviewers: {
    kind: 'list',
    for: ['create_release_pr', 'promote'],
    description: 'User logins to request reviews from.',
    cli: ['reviewer'],
    core: 'reviewers',
  },
  'team-reviewers': {
    kind: 'list',
    for: ['create_release_pr', 'promote'],
    description: 'Team slugs to request reviews from.',
    cli: ['team-reviewer'],
    core: 'teamReviewers',
  },
  assignees: {
    kind: 'list',
    for: ['create_release_pr', 'promote'],
    description: 'User logins to assign the pull request to.',
    cli: ['assignee'],
    core: 'assignees',
  },
  draft: {
    kind: 'boolean',
    for: ['create_release_pr', 'promote'],
    default: 'false',
    description: 'Open the pull request as a draft.',
    cli: ['draft'],
    core: 'draft',
  },
  'auto-merge': {
    kind: 'boolean',
    for: ['create_release_pr', 'promote'],
    default: 'false',
    description: 'Enable auto-merge on the pull request (the repository must allow it).',
    cli: ['auto-merge'],
    core: 'autoMerge',
  },
  'merge-method': {
    kind: 'enum',
    for: ['create_release_pr', 'promote'],
    values: MERGE_METHODS,
    description: 'The auto-merge method: `squash` (default), `merge` or `rebase`.',
    cli: ['merge-method'],
    core: 'autoMerge',
  },
  'close-superseded': {
    kind: 'boolean',
    for: ['create_release_pr', 'promote'],
    default: 'false',
    description:
      'Close older open release pull requests for the same image and paths, with a comment linking the new one.',
    cli: ['close-superseded'],
    core: 'closeSuperseded',
  },
  'delete-branch': {
    kind: 'boolean',
    for: 'create_release_pr',
    default: 'false',
    description: "With `close-superseded`, also delete the closed pull requests' branches.",
    cli: ['delete-branch'],
    core: 'deleteBranch',
  },
  milestone: {
    kind: 'integer',
    for: 'create_release_pr',
    description:
      'The number of the milestone to put the pull request in (a milestone that does not exist is a warning).',
    cli: ['milestone'],
    core: 'milestone',
  },
  body: {
    kind: 'string',
    for: 'create_release_pr',
    description:
      'Your text (Markdown) above the generated table of changes; a template like `title`, line breaks kept.',
    cli: ['body'],
    core: 'bodyTemplate',
  },
  'body-path': {
    kind: 'string',
    for: 'create_release_pr',
    description: 'A file holding the `body` text (instead of `body`).',
    cli: ['body-path'],
    core: 'bodyTemplate',
  },
  author: {
    kind: 'string',
    for: 'create_release_pr',
    description:
      "The commit's author, `Name <email>`. Default: `GIT_AUTHOR_NAME` and `GIT_AUTHOR_EMAIL`; on a plain git remote also the actor (`ID+LOGIN@users.noreply.github.com`). On GitHub without it the commit is the token's own and signed; with it, it is written through the REST Git Data API.",
    cli: ['author'],
    core: 'author',
  },
  committer: {
    kind: 'string',
    for: 'create_release_pr',
    description:
      'The committer, `Name <email>`. Default: `GIT_COMMITTER_NAME` and `GIT_COMMITTER_EMAIL`, else the author.',
    cli: ['committer'],
    core: 'committer',
  },
  'allow-downgrade': {
    kind: 'boolean',
    for: ['create_release_pr', 'promote'],
    default: 'false',
    description:
      'Release even when the new tag is an older commit than the deployed one (a deliberate rollback).',
    cli: ['allow-downgrade'],
    core: 'allowDowngrade',
  },
  'app-repo': {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    description:
      "The application repository, `OWNER/NAME`, whose commits the tags are: used to list the commits in the pull request and to refuse older ones. Defaults to the workflow's repository.",
    cli: ['app-repo'],
    core: 'appRepository',
  },
  key: {
    kind: 'string',
    for: 'create_release_pr',
    description:
      'An explicit yq-style path to the value to edit, for files the editor does not recognise, e.g. `.api.image.tag` or `.spec.template.spec.containers[name=web].image`. Only with a single image.',
    cli: ['key'],
    core: 'key',
  },
  'add-missing': {
    kind: 'boolean',
    for: 'create_release_pr',
    default: 'false',
    description: 'In a kustomization, add an `images:` entry for the image when there is none.',
    cli: ['add-missing'],
    core: 'addMissing',
  },
  'git-token': {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    secret: true,
    description:
      "For a plain git remote over HTTPS (GitLab, Gitea, Bitbucket, a GitHub other than the workflow's), the token, sent as an HTTP header to that remote only. Without it, `github-token` is used only when the remote is on the workflow's own GitHub. Masked in the log.",
    cli: { absent: 'the CLI has one token, --token-env, for whichever host it talks to' },
    orb: { absent: 'the orb has one token, token_env, for whichever host it talks to' },
    gitlab: {
      absent: 'the component has one token, token_env, for whichever host the job talks to',
    },
    core: { absent: 'a credential of the git host port' },
  },
  'ssh-key': {
    kind: 'string',
    for: ['create_release_pr', 'promote'],
    secret: true,
    description:
      'For a plain git remote over SSH (`ssh://` or `git@`), the private key. Masked in the log.',
    cli: ['ssh-key'],
    orb: { absent: "CircleCI's add_ssh_keys step installs the key where git's ssh finds it" },
    rename: `${GITHUB}; the CLI takes the key file's path (--ssh-key PATH)`,
    gitlab: 'ssh_key',
    core: { absent: 'a credential of the git host port' },
  },
  // promote
  from: {
    kind: 'list',
    for: 'promote',
    required: true,
    description:
      'The environment that ran the version (e.g. `overlays/staging`): files or directories of the manifest repository, one per line or comma-separated.',
    cli: ['from'],
    core: 'from',
  },
  to: {
    kind: 'list',
    for: 'promote',
    required: true,
    description:
      'The environment to bring to that version (e.g. `overlays/production`). Its files keep their shape (kustomize `newTag`/`digest`, Helm values, workload `image:`) and every other byte.',
    cli: ['to'],
    core: 'to',
  },
  expect: {
    kind: 'list',
    for: 'promote',
    description:
      'The versions the pipeline tested, `NAME:TAG[@DIGEST]`, one per line: the step fails and writes nothing unless `from` still deploys exactly these.',
    cli: ['expect'],
    core: 'expect',
  },
  'pin-digest': {
    kind: 'boolean',
    for: 'promote',
    default: 'false',
    description:
      "Resolve each tag's digest in the registry (with `username`/`password` or `gcp-key`, else the runner's docker login) and write it pinned, so `to` runs the exact bytes `from` ran even if the tag moves later.",
    cli: ['pin-digest'],
    core: 'pinDigest',
  },
} as const satisfies Record<string, InputSpec>;

export type InputName = keyof typeof INPUTS;
export const INPUT_NAMES = Object.keys(INPUTS) as InputName[];

/** CLI options no Action input carries, and why. */
const GITLAB_CLI_ONLY =
  'GitLab only: the GitLab CI/CD component (templates/create_release_pr.yml) carries it; the Action and the orb release to GitHub or a plain git remote';

export const CLI_ONLY: Record<CommandName, Record<string, string>> = {
  build_and_push_image: {
    json: 'the Action sets outputs, and the orb reads --json itself to export them',
    quiet:
      "the runner folds the Action's progress into a log group; the orb has quiet, to keep a step's log short",
    source:
      "the Action takes the source label from GITHUB_SERVER_URL and GITHUB_REPOSITORY, the orb's CLI from CIRCLE_REPOSITORY_URL",
  },
  create_release_pr: {
    json: 'the Action sets outputs, and the orb reads --json itself to export them',
    'app-dir':
      'where the CLI runs `git rev-parse HEAD` when no CI variable names the commit (Tekton, Jenkins); the Action always has GITHUB_SHA and the orb CIRCLE_SHA1',
    quiet:
      "the runner folds the Action's progress into a log group; the orb has quiet, to keep a step's log short",
    'gitlab-url': GITLAB_CLI_ONLY,
    'remove-source-branch': GITLAB_CLI_ONLY,
    squash: GITLAB_CLI_ONLY,
    'merge-request': GITLAB_CLI_ONLY,
    'push-option': GITLAB_CLI_ONLY,
    'git-user': GITLAB_CLI_ONLY,
  },
  promote: {
    'gitlab-url':
      'GitLab only (--host gitlab): the GitLab CI/CD component (templates/promote.yml) carries it',
    json: 'the Action sets outputs, and the orb reads --json itself to export them',
    'from-name':
      'pipelines use the default name (the first path segment in which from and to differ); naming it is a CLI refinement',
    'to-name':
      'pipelines use the default name (the first path segment in which from and to differ); naming it is a CLI refinement',
    'pipeline-url':
      "the Action links its run from GITHUB_RUN_ID, the orb's CLI from CIRCLE_BUILD_URL",
  },
};

/** Orb parameters no Action input carries, and why. */
export const ORB_ONLY: Record<CommandName, Record<string, string>> = {
  build_and_push_image: {
    registry_login:
      'chooses among the logins explicitly, since an env_var_name parameter always has a value; the CLI and the Action go by which login is given',
    quiet: "the CLI's --quiet; the Action's progress is folded into a log group instead",
  },
  create_release_pr: {
    quiet: "the CLI's --quiet; the Action's progress is folded into a log group instead",
  },
  promote: {
    registry_login:
      'chooses among the logins explicitly, since an env_var_name parameter always has a value; the CLI and the Action go by which login is given',
  },
};

/** GitLab component inputs no Action input carries, and why: where and how the job runs. */
export const GITLAB_ONLY: Record<string, string> = {
  stage: 'the stage of the pipeline the job runs in, a GitLab notion',
  job_image: 'the image the job runs in; a GitHub step and an orb executor choose theirs elsewhere',
  cli: 'how the job runs the CLI (npx @gitops-release/cli@1, or node PATH); the Action and the orb carry it',
  gitlab_url: 'GitLab only (CLI --gitlab-url): the instance of the manifest project',
  remove_source_branch: 'GitLab only (CLI --remove-source-branch)',
  squash: 'GitLab only (CLI --squash)',
  merge_request: "GitLab's push options with host git (CLI --merge-request)",
  push_options: 'git push -o options with host git (CLI --push-option)',
  git_user: 'the HTTPS user of a GitLab deploy or job token with host git (CLI --git-user)',
};

const COMPONENT_BEFORE =
  "the GitLab component (issue 12) was written before issue 11 added this option to the other surfaces; it is a follow-up there, the CLI flag works through the component's `cli` input meanwhile";
const PROMOTE_COMPONENT =
  'the promote component carries what a promotion job needs (repo, from, to, the images, expect, the token, mode and base); the rest is a follow-up there';

/** Inputs the GitLab component does not have yet, per command, and why (the parity test reads it). */
export const GITLAB_NOT_YET: Partial<Record<CommandName, Record<string, string>>> = {
  build_and_push_image: Object.fromEntries(
    ['push', 'secret-envs', 'no-cache', 'pull'].map((n) => [n, COMPONENT_BEFORE]),
  ),
  create_release_pr: Object.fromEntries(
    ['delete-branch', 'milestone', 'body', 'body-path', 'author', 'committer'].map((n) => [
      n,
      COMPONENT_BEFORE,
    ]),
  ),
  promote: Object.fromEntries(
    [
      'image',
      'username',
      'password',
      'gcp-key',
      'github-url',
      'api',
      'branch',
      'title',
      'commit-message',
      'team-reviewers',
      'assignees',
      'draft',
      'merge-method',
      'close-superseded',
      'allow-downgrade',
      'app-repo',
      'ssh-key',
      'pin-digest',
    ].map((n) => [n, PROMOTE_COMPONENT]),
  ),
};

/** Component inputs named differently from the spec for one command, and why. */
export const GITLAB_RENAMED: Partial<Record<CommandName, Record<string, string>>> = {
  promote: {
    images:
      'the promote component names the images to promote in the plural; a follow-up aligns it on image',
  },
};

/** The GitLab component's input of an input, or why there is none. */
export function gitlabName(name: InputName): string | Absent {
  const spec: InputSpec = INPUTS[name];
  return spec.gitlab ?? orbName(name);
}

export interface OutputSpec {
  for: CommandName | 'all' | readonly CommandName[];
  description: string;
}

/** Every output; the action sets each of them on every path, '' where it does not apply. */
export const OUTPUT_SPECS = {
  result: {
    for: 'all',
    description:
      'What happened. `build_and_push_image`: `built`, `built-not-pushed` (`push: false`), `skipped-exists` or (dry run) `would-build`. `create_release_pr`: `created`, `updated`, `unchanged`, `pushed` or `skipped-older` (a dry run reports what it would have done, and writes nothing). `failed` when the step failed.',
  },
  image: {
    for: 'all',
    description:
      'The image with its tag, e.g. `ghcr.io/o/app:abc1234`; for `create_release_pr`, each image released, one per line.',
  },
  digest: {
    for: 'build_and_push_image',
    description:
      "The digest of the image's manifest in the registry, `sha256:…` (empty for a dry run that would build).",
  },
  'image-ref': {
    for: 'build_and_push_image',
    description: 'The image pinned by digest, `REPOSITORY@sha256:…`.',
  },
  tags: {
    for: 'build_and_push_image',
    description: 'The tags (names only) the image carries after the run, comma-separated.',
  },
  'pull-request-number': {
    for: ['create_release_pr', 'promote'],
    description: "The release pull request's number.",
  },
  'pull-request-url': {
    for: ['create_release_pr', 'promote'],
    description: "The release pull request's URL.",
  },
  branch: {
    for: ['create_release_pr', 'promote'],
    description: 'The branch the release was committed to.',
  },
  'commit-sha': {
    for: ['create_release_pr', 'promote'],
    description:
      'The SHA of the commit that carries the release (the branch head when nothing new had to be written).',
  },
  'changed-files': {
    for: ['create_release_pr', 'promote'],
    description: 'The manifest files changed, one per line.',
  },
  'pull-request-operation': {
    for: 'create_release_pr',
    description:
      'What happened to the pull request, as peter-evans/create-pull-request says it: `created`, `updated` or `none` (nothing written, a push, or a dry run).',
  },
  'pull-request-head-sha': {
    for: 'create_release_pr',
    description: "The commit the pull request's branch points at after the run.",
  },
} as const satisfies Record<string, OutputSpec>;

/** Whether an input (or output) of the spec is read by (set for) a command. */
export function isFor(spec: { for: InputSpec['for'] }, command: CommandName): boolean {
  const f = spec.for;
  return f === 'all' || f === command || (Array.isArray(f) && f.includes(command));
}

/** The commands an input is for, as the documentation writes them: `a`, `b`. */
export function forText(spec: { for: InputSpec['for'] }): string {
  const f = spec.for;
  const list: readonly CommandName[] =
    f === 'all' ? COMMANDS : typeof f === 'string' ? [f as CommandName] : f;
  return list.map((c) => `\`${c}\``).join(', ');
}

/** The inputs a command reads. */
export function inputsOf(command: CommandName): InputName[] {
  return INPUT_NAMES.filter((n) => n !== 'command' && isFor(INPUTS[n], command));
}

/** The orb parameter of an input, or why there is none. */
export function orbName(name: InputName): string | Absent {
  const spec: InputSpec = INPUTS[name];
  return spec.orb ?? name.replace(/-/g, '_');
}
