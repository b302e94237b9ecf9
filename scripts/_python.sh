# Sourced by the scripts: finds a Python for the project and prepares the venv.
# Django 6.x needs Python 3.12+; with only 3.10/3.11 the venv gets Django 5.2 LTS.

find_python() {
    local candidate
    for candidate in "${BULKOPS_PYTHON:-}" python3.13 python3.12 \
        /root/.pyenv/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.12*/bin/python3.12 \
        python3.11 python3.10 python3; do
        [ -n "$candidate" ] || continue
        # pyenv shims exist for versions that are not selected: run it to be sure.
        if "$candidate" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null; then
            command -v "$candidate" 2>/dev/null || echo "$candidate"
            return 0
        fi
    done
    echo "No Python 3.10+ found" >&2
    return 1
}

# ensure_venv DIR NAMES [PIP_ARGS...]: create DIR with the project installed (editable) and
# NAMES (comma-separated). A name that is one of pyproject's [dependency-groups] (test,
# beat, benchmarks: what contributors need, never published) is installed as a group; the others
# are the package's extras.
ensure_venv() {
    local venv="$1" names="$2"
    shift 2
    local stamp="$venv/.bulkops-installed" want name extras="" groups=()
    want="$(sha1sum < pyproject.toml | cut -c1-12)-$names-$*"
    IFS=, read -ra _names <<< "$names"
    for name in "${_names[@]}"; do
        case "$name" in
            test|benchmarks|beat) groups+=(--group "$name") ;;
            ?*) extras="${extras:+$extras,}$name" ;;
        esac
    done
    if [ ! -x "$venv/bin/python" ]; then
        "$(find_python)" -m venv "$venv"
    fi
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        # pip >= 25.1 reads [dependency-groups] (--group).
        "$venv/bin/python" -m pip install -q --upgrade "pip>=25.1"
        "$venv/bin/python" -m pip install -q -e ".${extras:+[$extras]}" "${groups[@]}" "$@"
        echo "$want" > "$stamp"
    fi
}
