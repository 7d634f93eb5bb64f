#!/usr/bin/env bash
# Set up bookapi and run it, or run its tests.
#
#   ./bootstrap.sh [-y]            make .venv, install, start local servers, worker, hypercorn
#   ./bootstrap.sh test [-y] [pytest args]   run the whole test suite on throwaway servers
#   ./bootstrap.sh bench [-y] [bench args]   run the side-by-side benchmark (bench/run.py)
#   ./bootstrap.sh soak [-y] [soak args]     run the soak (bench/soak.py)
#
# -y answers yes to every question (creating .venv, installing system packages).
# `./bootstrap.sh test|bench|soak --help` lists that command's own options.
# MONGO_URI / REDIS_URL, when set, name servers to use instead of starting local ones.
set -euo pipefail
cd "$(dirname "$0")"

command_name=""
assume_yes=0
pytest_args=()
for arg in "$@"; do
  case "$arg" in
    -y|--yes) assume_yes=1 ;;
    -h|--help)
      # A subcommand's --help is its own (pytest's, the benchmark's, the soak's).
      if [ -n "$command_name" ] && [ "$command_name" != run ]; then pytest_args+=("$arg"); else sed -n '2,11p' "$0"; exit 0; fi ;;
    run|test|bench|soak) if [ -z "$command_name" ]; then command_name=$arg; else pytest_args+=("$arg"); fi ;;
    *) pytest_args+=("$arg") ;;
  esac
done
command_name=${command_name:-run}
if [ "$command_name" = run ] && [ ${#pytest_args[@]} -gt 0 ]; then
  echo "usage: ./bootstrap.sh [-y] | ./bootstrap.sh test|bench|soak [-y] [args]" >&2
  exit 2
fi

say() { printf '\033[1mbootstrap:\033[0m %s\n' "$*" >&2; }

confirm() {
  [ "$assume_yes" = 1 ] && return 0
  if [ ! -t 0 ]; then
    say "$1 -- no terminal to ask; rerun with -y to agree"
    return 1
  fi
  read -r -p "$1 [y/N] " answer
  [[ "$answer" =~ ^[Yy] ]]
}

as_root_apt_install() {
  local package=$1
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    confirm "Install $package with apt-get?" || return 1
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
  else
    say "please install $package (e.g. sudo apt-get install $package), then rerun"
    return 1
  fi
}

ensure_venv() {
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    confirm "Create a virtualenv in .venv and install the requirements?" || exit 1
    "$python" -m venv .venv
  fi
  # Reinstall only when the pins changed.
  local stamp=.venv/.requirements.sha256 digest
  digest=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    say "installing requirements"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r requirements-dev.txt
    echo "$digest" > "$stamp"
  fi
}

ensure_redis() {
  [ -n "${REDIS_URL:-}" ] && return 0
  command -v redis-server >/dev/null && return 0
  as_root_apt_install redis-server || exit 1
}

ensure_postgres() {
  # FerretDB keeps its data in PostgreSQL (its production backend: much faster scans than
  # SQLite); without PostgreSQL it falls back to SQLite.
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && return 0
  command -v postgres >/dev/null && return 0
  as_root_apt_install postgresql || say "no PostgreSQL: FerretDB will keep its data in SQLite (slower)"
}

ensure_mongo() {
  [ -n "${MONGO_URI:-}" ] && return 0
  command -v mongod >/dev/null && return 0
  ensure_postgres
  [ -x var/bin/ferretdb ] && return 0
  if ! command -v go >/dev/null; then
    say "no MongoDB-protocol server: set MONGO_URI, put mongod on PATH, or install Go 1.22+ to build FerretDB"
    exit 1
  fi
  say "building FerretDB v1.24.2 into var/bin (first run only)"
  .venv/bin/python -m devstack build-ferretdb >/dev/null
}

ensure_venv
ensure_redis
ensure_mongo

ensure_bench_tools() {
  command -v wrk >/dev/null || as_root_apt_install wrk || exit 1
  local stamp=.venv/.bench-requirements.sha256 digest
  digest=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
    say "installing the benchmark's peers (requirements-bench.txt)"
    .venv/bin/python -m pip install -q -r requirements-bench.txt
    echo "$digest" > "$stamp"
  fi
}

case "$command_name" in
  run)
    yes_flag=(); [ "$assume_yes" = 1 ] && yes_flag=(--yes)
    # PORT, when set, is the API's port; else 5000, or a free one if 5000 is taken (a
    # second checkout beside the first).
    port_flag=(); [ -n "${PORT:-}" ] && port_flag=(--port "$PORT")
    exec .venv/bin/python -m devstack run "${port_flag[@]}" "${yes_flag[@]}"
    ;;
  test)
    # axe-core for the console's accessibility checks, from the npm registry (first run only).
    .venv/bin/python -m devstack fetch-axe >/dev/null || exit 1
    exec .venv/bin/python -m pytest "${pytest_args[@]}"
    ;;
  bench)
    ensure_bench_tools
    exec .venv/bin/python -m bench.run "${pytest_args[@]}"
    ;;
  soak)
    ensure_bench_tools
    exec .venv/bin/python -m bench.soak "${pytest_args[@]}"
    ;;
esac
