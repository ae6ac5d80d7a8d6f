#!/usr/bin/env bash
# Installs the Debian packages a target needs when they are missing (called by the Makefile):
#   scripts/system_packages.sh run    a JDK (the Neo4j launcher needs javac, a JRE is not enough), Maven,
#                                     nginx (the buffering proxy in front of gunicorn: scripts/proxy_server.py),
#                                     Graphviz (`dot` lays out the dependency graphs: executions/graph_layout.py)
#   scripts/system_packages.sh test   the same, plus Debian's chromium and its chromedriver, Node
#                                     with npm, and Debian's PostgreSQL server (tests start a private
#                                     cluster of it: tests/support/postgres.py) when missing
# Nothing happens when all are there. Otherwise apt-get installs them, as root or through sudo when
# that works without a password; when neither is possible it says in one message what to install
# and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

case ${1:-} in
  run) want_browser=0 target=run ;;
  test) want_browser=1 target=test ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

packages=()
# A fresh Debian has python3 but not venv's pip bootstrap (package python3-venv).
if [[ ! -x .venv/bin/python ]] && ! python3 -c 'import ensurepip' 2>/dev/null; then
  packages+=(python3-venv)
fi
command -v javac >/dev/null || packages+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || packages+=(maven)
# nginx lives in /usr/sbin, which a normal user's PATH may not have.
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || packages+=(nginx)
command -v dot >/dev/null || packages+=(graphviz)
# The browser tests use exactly these paths: Debian's chromium and the chromedriver built with it.
if ((want_browser)) && [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  packages+=(chromium chromium-driver)
fi
# clients/typescript is built and tested with Node and npm (tests/test_clients_typescript.py).
if ((want_browser)); then
  command -v node >/dev/null || packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
# The PostgreSQL tests run initdb and the server from /usr/lib/postgresql/<major>/bin (Debian's
# layout); the system's own cluster and service are not used.
if ((want_browser)) && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  packages+=(postgresql)
fi
((${#packages[@]})) || exit 0

cannot() {
  echo "make $target needs the Debian packages ${packages[*]}, and $1:" \
    "install them ('sudo apt-get install ${packages[*]}'), then run 'make $target' again" >&2
  exit 1
}
as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    cannot "this user cannot install them (not root, no password-less sudo)"
  fi
fi
command -v apt-get >/dev/null || cannot "there is no apt-get here (these are Debian names)"

echo "installing ${packages[*]} (apt-get) ..." >&2
# Debian starts a package's service when it installs it: nginx would start serving its default site
# on port 80 (and fail to install where port 80 is taken). make run starts its own nginx, as this
# user, on PORT; so while apt-get runs, a policy-rc.d (Debian's way to say "start no services")
# refuses that start, unless the system already has one of its own. PostgreSQL's would start the
# system cluster on port 5432, which nothing here uses (the tests start their own).
policy=/usr/sbin/policy-rc.d
made_policy=0
services=()
for service in nginx postgresql; do
  [[ " ${packages[*]} " != *" $service "* ]] || services+=("$service")
done
if ((${#services[@]})) && [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# made by %s while it installs packages; removed when it is done\nexit 101\n' "$0" |
    "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  made_policy=1
fi
drop_policy() { ((made_policy)) && "${as_root[@]}" rm -f "$policy" || true; }
trap drop_policy EXIT
# Through env: sudo does not pass the caller's environment on.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"
# Debian also enables the service it installs, so it would start at the next boot: disable it (only
# when installed here; the binary is what make run needs, not the service).
if ((${#services[@]})) && command -v systemctl >/dev/null; then
  "${as_root[@]}" systemctl disable --quiet "${services[@]}" 2>/dev/null || true
fi
