#!/usr/bin/env bash
# The README's main job: a local demo on an embedded default. Installs what is missing, builds
# p2pgit, then in a temporary home: creates a node identity, shows its ids, computes the
# did:repo id of a sample repository, signs a Node announcement and verifies it (and shows a
# tampered copy being refused). Cleans up after itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh" --target p2pgit >/dev/null
p2pgit="$root/build/bin/p2pgit"

work="$(mktemp -d -t p2pgit-demo.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export P2PGIT_HOME="$work/home"
step() { printf '\n== %s\n' "$*"; }

step "1. A new node: its key is created on first use in $P2PGIT_HOME"
"$p2pgit" id --json
node_id="$("$p2pgit" id)"
ls -l "$P2PGIT_HOME/node.key"

step "2. The NodeId is a W3C did:key; it converts back to the Ed25519 public key"
"$p2pgit" did decode "$node_id"

step "3. A sample repository and the did:repo id it gets when this node shares it"
repo="$work/sample"
git init -q -b main "$repo"
git -C "$repo" -c user.name=Demo -c user.email=demo@example.com commit -q --allow-empty -m "first commit"
git -C "$repo" -c user.name=Demo -c user.email=demo@example.com commit -q --allow-empty -m "second commit"
root_commit="$(git -C "$repo" rev-list --max-parents=0 HEAD)"
echo "root commit: $root_commit"
"$p2pgit" repo-id --path "$repo"
echo "(same as: p2pgit repo-id $root_commit $node_id)"
"$p2pgit" repo-id "$root_commit" "$node_id"

step "4. A signed Node announcement, decoded and verified"
"$p2pgit" message sign-node --alias demo-node --address 127.0.0.1:7000 > "$work/node.msg"
echo "envelope: $(wc -c < "$work/node.msg") bytes of hex"
"$p2pgit" message verify "$(cat "$work/node.msg")"

step "5. The same message with one byte changed is refused"
tampered="$(sed 's/\(.\{160\}\)./\1f/' "$work/node.msg")"
if [ "$tampered" = "$(cat "$work/node.msg")" ]; then tampered="$(sed 's/\(.\{160\}\)./\10/' "$work/node.msg")"; fi
if "$p2pgit" message verify "$tampered"; then echo "unexpected: tampered message accepted"; exit 1; fi

step "Done: identity, ids and signed messages work. (The network demo grows from here.)"
