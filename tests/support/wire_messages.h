// Valid random messages for wire property tests and the fuzz corpus.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <set>

#include "identity/did.h"
#include "wire/message.h"

namespace p2pgit::wire::testing {

inline identity::PublicKey GenKey() { return *rc::gen::arbitrary<std::array<uint8_t, 32>>(); }

inline std::string GenText(size_t max) {
  auto s = *rc::gen::container<std::string>(rc::gen::inRange<char>('a', 'z' + 1));
  if (s.size() > max) s.resize(max);
  return s;
}

inline Bytes GenOid() {
  Bytes oid(*rc::gen::element<size_t>(20, 32));
  for (auto& b : oid) b = *rc::gen::arbitrary<uint8_t>();
  return oid;
}

inline RepoId GenRepoId() { return identity::ComputeRepoId(GenOid(), GenKey()); }

inline NodeBody GenNode() {
  NodeBody b;
  b.timestamp_ms = (*rc::gen::arbitrary<uint64_t>() & MAX_COUNTER_VALUE);
  size_t n = *rc::gen::inRange<size_t>(0, 4);
  for (size_t i = 0; i < n; ++i) {
    Address a;
    a.host = *rc::gen::element<std::string>("127.0.0.1", "198.51.100.7", "2001:db8::1", "relay.example.org", "localhost");
    a.port = *rc::gen::inRange<uint16_t>(1, 65535);
    b.addresses.push_back(a);
  }
  b.relay = *rc::gen::arbitrary<bool>();
  b.alias = GenText(MAX_ALIAS_BYTES);
  b.protocol_version = *rc::gen::inRange<uint64_t>(1, 1000);
  return b;
}

inline RepoBody GenRepo() {
  RepoBody b;
  b.timestamp_ms = (*rc::gen::arbitrary<uint64_t>() & MAX_COUNTER_VALUE);
  b.root_commit = GenOid();
  b.creator = GenKey();
  b.repo_id = identity::ComputeRepoId(b.root_commit, b.creator);
  b.name = GenText(MAX_REPO_NAME_BYTES);
  b.description = GenText(MAX_DESCRIPTION_BYTES);
  b.delegates.push_back(b.creator);
  size_t extra = *rc::gen::inRange<size_t>(0, 3);
  for (size_t i = 0; i < extra; ++i) b.delegates.push_back(GenKey());
  b.default_branch = *rc::gen::element<std::string>("main", "master", "trunk", "release/1.0");
  b.sequence = (*rc::gen::arbitrary<uint64_t>() & MAX_COUNTER_VALUE);
  return b;
}

inline RefsBody GenRefs() {
  RefsBody b;
  b.timestamp_ms = (*rc::gen::arbitrary<uint64_t>() & MAX_COUNTER_VALUE);
  b.repo_id = GenRepoId();
  std::set<std::string> names;
  size_t n = *rc::gen::inRange<size_t>(0, 6);
  for (size_t i = 0; i < n; ++i) {
    std::string root = *rc::gen::element<std::string>("heads/", "tags/", "patches/");
    std::string leaf = GenText(12);
    names.insert(root + (leaf.empty() ? "x" : leaf));
  }
  // One object format per message (DecodeRefs refuses ids of two lengths).
  size_t oid_bytes = *rc::gen::element<size_t>(20, 32);
  for (const auto& name : names) {
    Bytes oid = GenOid();
    oid.resize(oid_bytes, 0x5a);
    b.refs.push_back({name, std::move(oid)});
  }
  b.sequence = (*rc::gen::arbitrary<uint64_t>() & MAX_COUNTER_VALUE);
  return b;
}

inline InventoryBody GenInventory() {
  std::vector<RepoId> repos(*rc::gen::inRange<size_t>(0, 6));
  for (auto& r : repos) r = GenRepoId();
  auto pages = SplitInventory(repos, (*rc::gen::arbitrary<uint64_t>() & MAX_COUNTER_VALUE), (*rc::gen::arbitrary<uint64_t>() & MAX_COUNTER_VALUE));
  return pages.front();
}

inline ActivityBody GenActivity() {
  ActivityBody b;
  b.timestamp_ms = (*rc::gen::arbitrary<uint64_t>() & MAX_COUNTER_VALUE);
  b.repo_id = GenRepoId();
  std::set<Bytes> parents;
  if (*rc::gen::arbitrary<bool>()) {
    parents.insert(Bytes(b.repo_id.multihash.begin(), b.repo_id.multihash.end()));
  } else {
    size_t n = *rc::gen::inRange<size_t>(1, 4);
    for (size_t i = 0; i < n; ++i) {
      auto k = GenKey();
      parents.insert(Bytes(k.begin(), k.end()));
    }
  }
  b.parents.assign(parents.begin(), parents.end());
  b.op = *rc::gen::element<std::string>("issue.create", "issue.comment", "patch.merge");
  b.payload_version = *rc::gen::inRange<uint64_t>(1, 3);
  b.payload = *rc::gen::container<Bytes>(rc::gen::arbitrary<uint8_t>());
  return b;
}

inline Body GenBody() {
  switch (*rc::gen::inRange(0, 5)) {
    case 0: return GenNode();
    case 1: return GenRepo();
    case 2: return GenRefs();
    case 3: return GenInventory();
    default: return GenActivity();
  }
}

}  // namespace p2pgit::wire::testing
