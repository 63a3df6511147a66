#!/usr/bin/env bash
# promote: maps the PARAM_* variables the orb sets to the CLI's flags and runs
# `gitops-release promote --json`; both environments are read at one commit, nothing is rebuilt.
set -euo pipefail
eval "$GITOPS_RELEASE_UTILS"

args=(promote --repo "$(gr_expand "$PARAM_REPO")" --host "${PARAM_HOST:-github}" --mode "${PARAM_MODE:-pull-request}" --json)

# Each item of a comma- or line-separated parameter, expanded, as one flag.
each() {
  local flag=$1 item
  while IFS= read -r item; do
    item=$(gr_expand "${item//[[:space:]]/}")
    [ -z "$item" ] || args+=("$flag" "$item")
  done < <(printf '%s\n' "$2" | tr ',' '\n')
}
each --from "${PARAM_FROM:-}"
each --to "${PARAM_TO:-}"
each --image "${PARAM_IMAGES:-}"

# An expected image without a tag or digest is the one this pipeline built: the commit's short SHA.
while IFS= read -r image; do
  image=$(gr_expand "${image//[[:space:]]/}")
  [ -n "$image" ] || continue
  last=${image##*/}
  if [[ $last != *:* && $image != *@* ]]; then
    image="$image:$(gr_default_tag)"
  fi
  args+=(--expect "$image")
done < <(printf '%s\n' "${PARAM_EXPECT:-}" | tr ',' '\n')

add() {
  local value
  value=$(gr_expand "$2")
  [ -z "$value" ] || args+=("$1" "$value")
}
add --base "${PARAM_BASE:-}"
add --branch "${PARAM_BRANCH:-}"
add --title "${PARAM_TITLE:-}"
add --commit-message "${PARAM_COMMIT_MESSAGE:-}"
add --label "${PARAM_LABELS:-}"
add --reviewer "${PARAM_REVIEWERS:-}"
add --team-reviewer "${PARAM_TEAM_REVIEWERS:-}"
add --assignee "${PARAM_ASSIGNEES:-}"
add --github-url "${PARAM_GITHUB_URL:-}"
add --app-repo "${PARAM_APP_REPO:-}"
! gr_is_true "${PARAM_DRAFT:-0}" || args+=(--draft)
! gr_is_true "${PARAM_AUTO_MERGE:-0}" || args+=(--auto-merge --merge-method "${PARAM_MERGE_METHOD:-squash}")
! gr_is_true "${PARAM_CLOSE_SUPERSEDED:-0}" || args+=(--close-superseded)
! gr_is_true "${PARAM_ALLOW_DOWNGRADE:-0}" || args+=(--allow-downgrade)
! gr_is_true "${PARAM_DRY_RUN:-0}" || args+=(--dry-run)
# The pull request links the CircleCI job that asked for the promotion.
[ -z "${CIRCLE_BUILD_URL:-}" ] || args+=(--pipeline-url "$CIRCLE_BUILD_URL")

# The registry login for pin_digest, chosen as build_and_push_image chooses it; secrets go to the
# CLI by the variable's name only.
if gr_is_true "${PARAM_PIN_DIGEST:-0}"; then
  args+=(--pin-digest)
  login=${PARAM_REGISTRY_LOGIN:-auto}
  if [ "$login" = auto ]; then
    if [ -n "${PARAM_USERNAME:-}" ]; then
      login=password
    elif [ -n "${!PARAM_GCP_KEY_ENV:-}" ]; then
      login=gcp_key
    else
      login=none
    fi
  fi
  case "$login" in
  password)
    gr_require_env password_env "$PARAM_PASSWORD_ENV"
    [ -z "${PARAM_USERNAME:-}" ] || args+=(--username "$PARAM_USERNAME")
    args+=(--password-env "$PARAM_PASSWORD_ENV")
    ;;
  gcp_key)
    gr_require_env gcp_key_env "$PARAM_GCP_KEY_ENV"
    args+=(--gcp-key-env "$PARAM_GCP_KEY_ENV")
    ;;
  none) ;;
  *)
    echo "gitops-release: registry_login must be auto, none, password or gcp_key, not '$login'." >&2
    exit 1
    ;;
  esac
fi

if [ "${PARAM_HOST:-github}" = github ]; then
  gr_require_env token_env "$PARAM_TOKEN_ENV"
  args+=(--token-env "$PARAM_TOKEN_ENV")
elif [ -n "${!PARAM_TOKEN_ENV:-}" ]; then
  args+=(--token-env "$PARAM_TOKEN_ENV")
fi

# A refusal prints its reason as JSON and exits 1: show it, and fail the step.
status=0
result=$(gr_cli "${args[@]}") || status=$?
printf '%s\n' "$result"
[ "$status" -eq 0 ] || exit "$status"
fields='const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
const pr = r.pullRequest ?? {};
for (const [name, value] of [
  ["GITOPS_RELEASE_RESULT", r.result],
  ["GITOPS_RELEASE_PR_NUMBER", pr.number],
  ["GITOPS_RELEASE_PR_URL", pr.url],
  ["GITOPS_RELEASE_COMMIT", r.commitSha],
]) console.log(`${name}=${String(value ?? "").replace(/\n/g, " ")}`);'
while IFS='=' read -r name value; do
  printf 'export %s=%q\n' "$name" "$value" >>"$BASH_ENV"
done < <(printf '%s' "$result" | node -e "$fields")
