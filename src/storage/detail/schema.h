// The schema as a list of migrations; migration i takes user_version i to i + 1.
#pragma once

#include <span>

namespace p2pgit::storage::detail {

/** SQL of each migration, oldest first; its size is CURRENT_SCHEMA_VERSION (checked in schema.cpp). */
std::span<const char* const> Migrations();

}  // namespace p2pgit::storage::detail
