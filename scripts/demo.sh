#!/usr/bin/env bash
# The README's main job: the whole network on loopback, in temporary homes. Installs what is
# missing and builds, then: starts a relay and two nodes (A, B), shares a sample repository from
# A, stops A, clones it on B with stock `git clone git+p2p://…`, commits and pushes from B,
# restarts A and shows B's signed namespace arriving there. Cleans up after itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# P2PGIT_DEMO_BIN: run already-built binaries (the test suite does) instead of building.
if [ -n "${P2PGIT_DEMO_BIN:-}" ]; then
  bin="$P2PGIT_DEMO_BIN"
else
  "$root/scripts/build.sh" --target p2pgit git-remote-git+p2p >/dev/null
  bin="$root/build/bin"
fi
p2pgit="$bin/p2pgit"
export PATH="$bin:$PATH"  # git finds git-remote-git+p2p here
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Demo" GIT_AUTHOR_EMAIL="demo@example.com" GIT_COMMITTER_NAME="Demo" GIT_COMMITTER_EMAIL="demo@example.com"

work="$(mktemp -d -t p2pgit-demo.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$(date +%s)

# start NAME ARGS…: runs a daemon with home $work/NAME, logs in $work/NAME.log; sets $pid
start() {
  local name="$1"
  shift
  mkdir -p "$work/$name"
  chmod 700 "$work/$name"
  P2PGIT_HOME="$work/$name" "$p2pgit" "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do
    if grep -q '^\(node\|relay\) ' "$work/$name.out" 2>/dev/null; then return; fi
    sleep 0.1
  done
  echo "error: $name did not start:"; cat "$work/$name.log"; exit 1
}
as() { local name="$1"; shift; P2PGIT_HOME="$work/$name" "$@"; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND…
  local seconds="$1" what="$2"
  shift 2
  for _ in $(seq $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return; fi
    sleep 0.2
  done
  echo "error: timed out waiting for $what"; exit 1
}

step "1. A relay on loopback (an always-on node that caches announcements and repositories)"
start relay relay --listen 127.0.0.1:0 --alias relay --reconcile-interval 2
relay_contact="$(awk '/^relay /{id=$2} /^listening /{print id "@" $2}' "$work/relay.out")"
echo "relay: $relay_contact"

step "2. Nodes A and B know only the relay (bootstrap in their config.toml)"
for n in a b; do
  mkdir -p "$work/$n" && chmod 700 "$work/$n"
  printf 'bootstrap = ["%s"]\nalias = "%s"\nreconcile_interval_s = 2\n' "$relay_contact" "$n" >"$work/$n/config.toml"
done
start a node
start b node
a_id="$(as a "$p2pgit" id)"
b_id="$(as b "$p2pgit" id)"
echo "A: $a_id"
echo "B: $b_id"
wait_for 10 "A and B to discover each other" sh -c "P2PGIT_HOME='$work/b' '$p2pgit' nodes --json | grep -q '$a_id'"
echo "B's routing table (learned through the relay):"
as b "$p2pgit" nodes

step "3. A shares a sample repository: its id is derived from the root commit and A's key"
repo="$work/sample"
git init -q -b main "$repo"
printf '# Sample\n\nShared over p2p-git.\n' >"$repo/README.md"
git -C "$repo" add README.md && git -C "$repo" commit -q -m "Add README"
printf 'print("hello")\n' >"$repo/hello.py"
git -C "$repo" add hello.py && git -C "$repo" commit -q -m "Add hello.py"
repo_id="$(as a "$p2pgit" share "$repo" --name sample --description "demo repository" | head -1)"
echo "RepoId: $repo_id"
wait_for 15 "the relay to replicate" as relay "$p2pgit" verify "$repo_id"
echo "the relay verified and holds it:"
as relay "$p2pgit" verify "$repo_id"

step "4. A goes offline"
kill "${pids[1]}" && wait "${pids[1]}" 2>/dev/null || true
echo "A stopped"

step "5. B clones it by id with stock git, from the relay, verified against A's signatures"
(cd "$work" && as b git clone "git+p2p://$repo_id" clone-b)
git -C "$work/clone-b" log --oneline
as b "$p2pgit" verify "$work/clone-b"

step "6. B commits and pushes: git push writes B's own signed namespace and announces it"
printf 'print("hello from B")\n' >>"$work/clone-b/hello.py"
git -C "$work/clone-b" commit -q -am "B: greet too"
(cd "$work/clone-b" && as b git push origin main)
b_ns="refs/nodes/${b_id#did:key:}/heads/main"
wait_for 15 "the relay to replicate B's namespace" sh -c \
  "git --git-dir '$work/relay/repos/${repo_id#did:repo:}.git' rev-parse --verify -q '$b_ns'"

step "7. A comes back: reconciliation brings B's announcement, A fetches B's commits"
start a node
wait_for 20 "A to receive B's namespace" sh -c \
  "git --git-dir '$work/a/repos/${repo_id#did:repo:}.git' rev-parse --verify -q '$b_ns'"
echo "A's store now holds:"
git --git-dir "$work/a/repos/${repo_id#did:repo:}.git" for-each-ref --format='  %(objectname:short) %(refname)'
echo "A holds B's commit $(git --git-dir "$work/a/repos/${repo_id#did:repo:}.git" rev-parse "$b_ns") under $b_ns"
echo "B's commit as A sees it (mega:// address):"
as a "$p2pgit" cat "mega://$repo_id/peer/$b_id/refs/main" | head -3

step "Done in $(( $(date +%s) - started )) s: a relay, two nodes, share, offline clone, push and catch-up."
