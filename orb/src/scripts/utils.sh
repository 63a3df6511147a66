# Helpers the command scripts share (they eval this from GITOPS_RELEASE_UTILS, as one include
# cannot be spliced into another script).

# CircleCI hands boolean parameters to environment variables as 1/0 (and to strings as true/false).
gr_is_true() {
  [ "${1:-}" = 1 ] || [ "${1:-}" = true ]
}

# Expands $NAME and ${NAME} in a parameter value from the environment, as the seed pipeline's
# asia.gcr.io/${GOOGLE_PROJECT_ID}/app needs, without eval: nothing else in the value runs.
gr_expand() {
  local rest=$1 out='' name
  while [[ $rest =~ ^([^$]*)\$(\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))(.*)$ ]]; do
    name=${BASH_REMATCH[3]:-${BASH_REMATCH[4]}}
    if [ -z "${!name+set}" ]; then
      echo "gitops-release: \$$name, used in a parameter value, is not set: set it in the project's environment variables or a context." >&2
      return 1
    fi
    out+="${BASH_REMATCH[1]}${!name}"
    rest=${BASH_REMATCH[5]}
  done
  printf '%s' "$out$rest"
}

# Fails with the parameter's and the variable's names when an env_var_name parameter points at
# nothing. Only the name is ever printed, never the value.
gr_require_env() {
  local parameter=$1 name=$2
  if [[ ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "gitops-release: parameter $parameter must name an environment variable, not '$name'." >&2
    return 1
  fi
  if [ -z "${!name:-}" ]; then
    echo "gitops-release: the environment variable $name (named by parameter $parameter) is not set or empty. Add it to the project's environment variables or to a context the job uses." >&2
    return 1
  fi
}

# The short commit tag both jobs of a pipeline agree on: ${CIRCLE_SHA1:0:7}.
gr_default_tag() {
  if [ -z "${CIRCLE_SHA1:-}" ]; then
    echo "gitops-release: CIRCLE_SHA1 is not set, so there is no commit to tag with: set the tag parameter." >&2
    return 1
  fi
  printf '%s' "${CIRCLE_SHA1:0:7}"
}

gr_cli() {
  if [ -z "${GITOPS_RELEASE_CLI:-}" ] || [ ! -f "$GITOPS_RELEASE_CLI" ]; then
    echo "gitops-release: the CLI is not unpacked: run the install_cli command earlier in this job." >&2
    return 1
  fi
  node "$GITOPS_RELEASE_CLI" "$@"
}
