// The one ref-name policy: which names a node may sign inside its namespace. Gossip admission,
// the git layer (git::CheckNamespaceRefName) and the store heal all use it, so nothing admission
// accepts can be refused later when the refs are written (docs/PROTOCOL.md, "Ref names").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace p2pgit::wire {

/** Threat: storage per ref and path length when refs become files under refs/nodes/<id>/. */
inline constexpr size_t MAX_REF_NAME_BYTES = 255;

/**
 * Why `name` (relative to a namespace, e.g. "heads/main") breaks the policy, or nullopt when it
 * is valid: a root of heads/, tags/ or patches/ and something after it; at most
 * MAX_REF_NAME_BYTES; valid UTF-8; git's check-ref-format rules for "refs/nodes/<id>/<name>"
 * (no "..", "@{", control characters, space or any of ~^:?*[\, no empty component, none
 * starting with '.' or ending with ".lock", not ending with '.'); and, stricter than git, no
 * component starting with '-' (option injection into git command lines), no component "@"
 * (git's shorthand for HEAD) and no C1 control characters (terminal escapes when printed).
 */
std::optional<std::string> RefNameRefusal(std::string_view name);

/** RefNameRefusal(name) == nullopt. */
bool IsValidRefName(std::string_view name);

/**
 * The first pair of names where one is a directory prefix of the other ("heads/a" and
 * "heads/a/b"): git stores refs as files, so both cannot exist in one namespace. `names` must be
 * sorted (bytewise). @return "a" and "a/b" as a sentence, or nullopt when there is none.
 */
std::optional<std::string> RefDirectoryConflict(const std::vector<std::string_view>& sorted_names);

}  // namespace p2pgit::wire
