// Replication stream codec: round trips and one test per rejection.
#include <gtest/gtest.h>

#include "wire/replication.h"

using namespace p2pgit;
using namespace p2pgit::wire;

namespace {

RepoId SomeRepo() { return identity::ComputeRepoId(Bytes(20, 7), identity::PublicKey{}); }

WireError CodeOf(const Bytes& bytes) { return DecodeReplicationRequest(bytes).code(); }

}  // namespace

TEST(WireReplication, RequestsAndAnswersRoundTrip) {
  ReplicationRequest state = RepoStateRequest{SomeRepo()};
  EXPECT_EQ(*DecodeReplicationRequest(EncodeReplicationRequest(state)), state);
  ReplicationRequest fetch = FetchRequest{SomeRepo(), {Bytes(20, 1), Bytes(20, 2)}, {}};
  EXPECT_EQ(*DecodeReplicationRequest(EncodeReplicationRequest(fetch)), fetch);
  FetchAnswer ok{true, {Bytes(20, 3)}, ""};
  EXPECT_EQ(*DecodeFetchAnswer(EncodeFetchAnswer(ok)), ok);
  FetchAnswer refused{false, {}, "no such repo"};
  EXPECT_EQ(*DecodeFetchAnswer(EncodeFetchAnswer(refused)), refused);
}

TEST(WireReplication, RejectsTruncated) {
  Bytes bytes = EncodeReplicationRequest(FetchRequest{SomeRepo(), {Bytes(20, 1)}, {}});
  bytes.pop_back();
  EXPECT_EQ(CodeOf(bytes), WireError::Truncated);
}

TEST(WireReplication, RejectsUnknownKind) {
  Bytes bytes = EncodeReplicationRequest(RepoStateRequest{SomeRepo()});
  bytes[1] = 0x09;  // kind 9
  EXPECT_EQ(CodeOf(bytes), WireError::UnknownType);
}

TEST(WireReplication, RejectsWrongItemCount) {
  Bytes bytes = EncodeReplicationRequest(RepoStateRequest{SomeRepo()});
  bytes[0] = 0x83;  // claims 3 items
  EXPECT_NE(DecodeReplicationRequest(bytes).ok(), true);
}

TEST(WireReplication, RejectsShortObjectId) {
  EXPECT_EQ(CodeOf(EncodeReplicationRequest(FetchRequest{SomeRepo(), {Bytes(19, 1)}, {}})), WireError::InvalidField);
}

TEST(WireReplication, RejectsLongObjectId) {
  EXPECT_EQ(CodeOf(EncodeReplicationRequest(FetchRequest{SomeRepo(), {Bytes(32, 1)}, {}})), WireError::TooLarge);
}

TEST(WireReplication, RejectsEmptyWants) {
  EXPECT_EQ(CodeOf(EncodeReplicationRequest(FetchRequest{SomeRepo(), {}, {}})), WireError::InvalidField);
}

TEST(WireReplication, RejectsTooManyWants) {
  FetchRequest f{SomeRepo(), std::vector<Bytes>(MAX_FETCH_WANTS + 1, Bytes(20, 1)), {}};
  EXPECT_EQ(CodeOf(EncodeReplicationRequest(f)), WireError::TooLarge);
}

TEST(WireReplication, RejectsBadRepoId) {
  RepoId bad = SomeRepo();
  bad.multihash[0] = 0x13;  // not sha2-256
  EXPECT_EQ(CodeOf(EncodeReplicationRequest(RepoStateRequest{bad})), WireError::InvalidField);
}

TEST(WireReplication, RejectsTrailingBytes) {
  Bytes bytes = EncodeReplicationRequest(RepoStateRequest{SomeRepo()});
  bytes.push_back(0);
  EXPECT_EQ(CodeOf(bytes), WireError::Malformed);
}

TEST(WireReplication, RejectsNonCanonicalLength) {
  // Kind 1 written with a one-byte argument (0x18 0x01) instead of inline.
  Bytes bytes = EncodeReplicationRequest(RepoStateRequest{SomeRepo()});
  bytes.erase(bytes.begin() + 1);
  bytes.insert(bytes.begin() + 1, {0x18, 0x01});
  EXPECT_EQ(CodeOf(bytes), WireError::NonCanonical);
}

TEST(WireReplication, FetchAnswerRejectsUnknownKindAndTrailingBytes) {
  Bytes bytes = EncodeFetchAnswer(FetchAnswer{true, {}, ""});
  Bytes trailing = bytes;
  trailing.push_back(0);
  EXPECT_EQ(DecodeFetchAnswer(trailing).code(), WireError::Malformed);
  bytes[1] = 0x05;
  EXPECT_EQ(DecodeFetchAnswer(bytes).code(), WireError::UnknownType);
}
