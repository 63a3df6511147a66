#!/usr/bin/env bash
# build_and_push_image: maps the PARAM_* variables the orb sets to the CLI's flags, runs
# `gitops-release build-and-push-image --json` and exports its results through BASH_ENV.
set -euo pipefail
eval "$GITOPS_RELEASE_UTILS"

image=$(gr_expand "$PARAM_IMAGE")
args=(build-and-push-image --image "$image" --context "$(gr_expand "${PARAM_CONTEXT:-.}")" --builder "${PARAM_BUILDER:-auto}" --json)
# Without a tag the CLI takes CIRCLE_SHA1 and shortens it, as ${CIRCLE_SHA1:0:7} does.
tag=$(gr_expand "${PARAM_TAG:-}")
[ -z "$tag" ] || args+=(--tag "$tag")
[ -z "${PARAM_FILE:-}" ] || args+=(--file "$(gr_expand "$PARAM_FILE")")
# Lists are read line by line from printf, not from a here-string: CircleCI would take its
# double angle bracket for a parameter reference.
while IFS= read -r t; do
  t=$(gr_expand "${t//[[:space:]]/}")
  [ -z "$t" ] || args+=(--extra-tag "$t")
done < <(printf '%s\n' "${PARAM_EXTRA_TAGS:-}" | tr ',' '\n')
while IFS= read -r p; do
  p=${p//[[:space:]]/}
  [ -z "$p" ] || args+=(--platform "$p")
done < <(printf '%s\n' "${PARAM_PLATFORMS:-}" | tr ',' '\n')
while IFS= read -r line; do
  [ -z "${line//[[:space:]]/}" ] || args+=(--build-arg "$(gr_expand "$line")")
done < <(printf '%s\n' "${PARAM_BUILD_ARGS:-}")
# Labels and cache specs hold commas (type=registry,ref=REF,mode=max): one a line, each whole.
while IFS= read -r line; do
  [ -z "${line//[[:space:]]/}" ] || args+=(--label "$(gr_expand "$line")")
done < <(printf '%s\n' "${PARAM_IMAGE_LABELS:-}")
while IFS= read -r line; do
  [ -z "${line//[[:space:]]/}" ] || args+=(--cache-from "$(gr_expand "$line")")
done < <(printf '%s\n' "${PARAM_CACHE_FROM:-}")
while IFS= read -r line; do
  [ -z "${line//[[:space:]]/}" ] || args+=(--cache-to "$(gr_expand "$line")")
done < <(printf '%s\n' "${PARAM_CACHE_TO:-}")
[ -z "${PARAM_SHA_LENGTH:-}" ] || args+=(--sha-length "$PARAM_SHA_LENGTH")
[ -z "${PARAM_TARGET:-}" ] || args+=(--target "$PARAM_TARGET")
# Explicit both ways: the CLI skips by default only for commit tags, the orb whenever asked.
if gr_is_true "${PARAM_SKIP_EXISTING:-1}"; then args+=(--skip-existing); else args+=(--no-skip-existing); fi
! gr_is_true "${PARAM_DRY_RUN:-0}" || args+=(--dry-run)
! gr_is_true "${PARAM_QUIET:-0}" || args+=(--quiet)
gr_is_true "${PARAM_PUSH:-1}" || args+=(--no-push)
! gr_is_true "${PARAM_NO_CACHE:-0}" || args+=(--no-cache)
! gr_is_true "${PARAM_PULL:-0}" || args+=(--pull)
# Build secrets go by the variable's name (ID=VARIABLE); the CLI reads the value itself.
while IFS= read -r line; do
  line=${line//[[:space:]]/}
  [ -z "$line" ] || args+=(--secret-env "$line")
done < <(printf '%s\n' "${PARAM_SECRET_ENVS:-}")

# Secrets go to the CLI by the variable's name only, never as an argument.
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
  # An empty user is left to the CLI's defaults (AWS for ECR, $GITHUB_ACTOR for ghcr.io).
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

result=$(gr_cli "${args[@]}")
printf '%s\n' "$result"
# The results, for later steps of this job: the image pinned by digest is what a release wants.
fields='const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
for (const [name, value] of [
  ["GITOPS_RELEASE_IMAGE", r.image],
  ["GITOPS_RELEASE_DIGEST", r.digest],
  ["GITOPS_RELEASE_IMAGE_REF", r.imageRef ?? r["image-ref"]],
  ["GITOPS_RELEASE_BUILD_RESULT", r.result],
]) console.log(`${name}=${String(value ?? "").replace(/\n/g, " ")}`);'
while IFS='=' read -r name value; do
  printf 'export %s=%q\n' "$name" "$value" >>"$BASH_ENV"
done < <(printf '%s' "$result" | node -e "$fields")
