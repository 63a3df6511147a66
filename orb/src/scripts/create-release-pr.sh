#!/usr/bin/env bash
# create_release_pr: maps the PARAM_* variables the orb sets to the CLI's flags and runs
# `gitops-release create-release-pr --json`; no clone, the CLI reads and writes through the API.
set -euo pipefail
eval "$GITOPS_RELEASE_UTILS"

tag=$(gr_expand "${PARAM_TAG:-}")
args=(create-release-pr --repo "$(gr_expand "$PARAM_REPO")" --host "${PARAM_HOST:-github}" --mode "${PARAM_MODE:-pull-request}" --json)

# An image without a tag or digest gets the tag parameter; with none, the CLI takes the short
# SHA of CIRCLE_SHA1, the tag build_and_push_image pushed.
while IFS= read -r image; do
  image=$(gr_expand "${image//[[:space:]]/}")
  [ -n "$image" ] || continue
  last=${image##*/}
  if [ -n "$tag" ] && [[ $last != *:* && $image != *@* ]]; then
    image="$image:$tag"
  fi
  args+=(--image "$image")
done < <(printf '%s\n' "$PARAM_IMAGE" | tr ',' '\n')

while IFS= read -r path; do
  path=$(gr_expand "${path//[[:space:]]/}")
  [ -z "$path" ] || args+=(--path "$path")
done < <(printf '%s\n' "$PARAM_PATHS" | tr ',' '\n')

# Optional flags, passed only when their parameter is set.
add() {
  local value
  value=$(gr_expand "$2")
  [ -z "$value" ] || args+=("$1" "$value")
}
# The application repository (by default this project, from CIRCLE_PROJECT_USERNAME and
# CIRCLE_PROJECT_REPONAME) names {app}. On GitHub it also lists the commits and guards the order;
# on a plain git remote the CLI fetches it for the guard, so OWNER/NAME (not fetchable there)
# only names the release, in the default title.
app_repo=$(gr_expand "${PARAM_APP_REPO:-}")
default_title='Release {app} {sha}'
if [ -n "$app_repo" ]; then
  if [ "${PARAM_HOST:-github}" = github ] || [[ $app_repo == *://* || $app_repo == /* || $app_repo == .* ]]; then
    args+=(--app-repo "$app_repo")
  else
    app_name=${app_repo##*/}
    default_title="Release ${app_name%.git} {sha}"
  fi
fi

add --base "${PARAM_BASE:-}"
add --branch "${PARAM_BRANCH:-}"
title=${PARAM_TITLE:-}
[ -n "$title" ] || [ "$default_title" = 'Release {app} {sha}' ] || title=$default_title
add --title "$title"
# The commit links back to the CircleCI job that made it, unless a message is given; the title is
# its headline (the CLI's default title when none is set).
message=${PARAM_COMMIT_MESSAGE:-}
if [ -z "$message" ] && [ -n "${CIRCLE_BUILD_URL:-}" ]; then
  printf -v message '%s\n\nReleased by CircleCI%s: %s' "${title:-$default_title}" \
    "${CIRCLE_BRANCH:+ from branch $CIRCLE_BRANCH}" "$CIRCLE_BUILD_URL"
fi
add --commit-message "$message"
# The body is Markdown, passed as written: a $ in it is text, not a variable.
[ -z "${PARAM_BODY:-}" ] || args+=(--body "$PARAM_BODY")
add --body-path "${PARAM_BODY_PATH:-}"
[ -z "${PARAM_AUTHOR:-}" ] || args+=(--author "$PARAM_AUTHOR")
[ -z "${PARAM_COMMITTER:-}" ] || args+=(--committer "$PARAM_COMMITTER")
add --label "${PARAM_LABELS:-}"
add --reviewer "${PARAM_REVIEWERS:-}"
add --team-reviewer "${PARAM_TEAM_REVIEWERS:-}"
add --assignee "${PARAM_ASSIGNEES:-}"
add --github-url "${PARAM_GITHUB_URL:-}"
add --key "${PARAM_KEY:-}"
# GitHub's API choice; a plain git remote has none to make.
[ "${PARAM_HOST:-github}" != github ] || add --api "${PARAM_API:-}"
! gr_is_true "${PARAM_ADD_MISSING:-0}" || args+=(--add-missing)
! gr_is_true "${PARAM_DRAFT:-0}" || args+=(--draft)
! gr_is_true "${PARAM_AUTO_MERGE:-0}" || args+=(--auto-merge --merge-method "${PARAM_MERGE_METHOD:-squash}")
! gr_is_true "${PARAM_CLOSE_SUPERSEDED:-0}" || args+=(--close-superseded)
! gr_is_true "${PARAM_DELETE_BRANCH:-0}" || args+=(--delete-branch)
add --milestone "${PARAM_MILESTONE:-}"
! gr_is_true "${PARAM_ALLOW_DOWNGRADE:-0}" || args+=(--allow-downgrade)
! gr_is_true "${PARAM_DRY_RUN:-0}" || args+=(--dry-run)
! gr_is_true "${PARAM_QUIET:-0}" || args+=(--quiet)

# The token goes to the CLI by the variable's name only, never as an argument. GitHub needs it;
# a plain git remote may not (a local path, or credentials git already has).
if [ "${PARAM_HOST:-github}" = github ]; then
  gr_require_env token_env "$PARAM_TOKEN_ENV"
  args+=(--token-env "$PARAM_TOKEN_ENV")
elif [ -n "${!PARAM_TOKEN_ENV:-}" ]; then
  args+=(--token-env "$PARAM_TOKEN_ENV")
fi

result=$(gr_cli "${args[@]}")
printf '%s\n' "$result"
fields='const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
const pr = r.pullRequest ?? {};
for (const [name, value] of [
  ["GITOPS_RELEASE_RESULT", r.result],
  ["GITOPS_RELEASE_PR_NUMBER", r.pullRequestNumber ?? pr.number],
  ["GITOPS_RELEASE_PR_URL", r.pullRequestUrl ?? pr.url],
  ["GITOPS_RELEASE_COMMIT", r.commitSha ?? r.commit],
  ["GITOPS_RELEASE_PR_OPERATION", r.pullRequestOperation],
  ["GITOPS_RELEASE_PR_HEAD_SHA", r.pullRequestHeadSha],
]) console.log(`${name}=${String(value ?? "").replace(/\n/g, " ")}`);'
while IFS='=' read -r name value; do
  printf 'export %s=%q\n' "$name" "$value" >>"$BASH_ENV"
done < <(printf '%s' "$result" | node -e "$fields")
