// Durability against a killed process: a child commits 10,000 rows one transaction each and
// reports every commit through a pipe; the parent SIGKILLs it at a random point, reopens the store
// and checks that the file is intact and holds every reported row (WAL + synchronous=NORMAL).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "storage/store.h"

using namespace p2pgit;
using namespace p2pgit::storage;

namespace {

constexpr uint32_t ROWS = 10'000;
constexpr int RUNS = 20;

Bytes RowId(uint32_t index) {
  Bytes id(MESSAGE_ID_BYTES, 0x5a);
  id[28] = static_cast<uint8_t>(index >> 24);
  id[29] = static_cast<uint8_t>(index >> 16);
  id[30] = static_cast<uint8_t>(index >> 8);
  id[31] = static_cast<uint8_t>(index);
  return id;
}

StoredMessage Row(uint32_t index) {
  StoredMessage m;
  m.id = RowId(index);
  m.type = 1;
  m.author = Bytes(NODE_ID_BYTES, 0x11);
  m.timestamp_ms = 1'700'000'000'000ull + index;
  m.received_at_ms = m.timestamp_ms;
  m.raw.resize(64 + index % 200);  // varying sizes so pages split at different rows
  for (size_t i = 0; i < m.raw.size(); ++i) m.raw[i] = static_cast<uint8_t>(index * 31 + i);
  return m;
}

bool WriteAll(int fd, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The child: no gtest, no destructors of the parent's state; exits with _exit.
[[noreturn]] void ChildWriteLoop(const std::filesystem::path& db, int report_fd) {
  auto store = Store::Open(db);
  if (!store) _exit(2);
  for (uint32_t i = 0; i < ROWS; ++i) {
    auto put = store->PutMessage(Row(i));  // one committed transaction per row
    if (!put || !put->inserted) _exit(3);
    uint32_t committed = i + 1;
    if (!WriteAll(report_fd, &committed, sizeof committed)) _exit(4);
  }
  _exit(0);
}

struct ChildRun {
  uint32_t reported = 0;  // rows the child said were committed
  bool finished = false;  // the child wrote every row before the kill
};

// Reads commit reports until `stop_at` is reached (or, if stop_at is 0, until after `delay`),
// kills the child, then drains what it reported before dying.
ChildRun KillChild(pid_t pid, int read_fd, uint32_t stop_at, std::chrono::microseconds delay) {
  ChildRun run;
  auto read_report = [&]() {
    uint32_t value = 0;
    size_t got = 0;
    while (got < sizeof value) {
      ssize_t n = read(read_fd, reinterpret_cast<uint8_t*>(&value) + got, sizeof value - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // EOF: the child is gone
      got += static_cast<size_t>(n);
    }
    run.reported = value;
    return true;
  };
  if (stop_at > 0) {
    while (run.reported < stop_at && read_report()) {
    }
  } else {
    std::this_thread::sleep_for(delay);
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  run.finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  EXPECT_TRUE(run.finished || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
      << "child failed on its own, status " << status;
  while (read_report()) {
  }
  return run;
}

TEST(StorageKill, SigkillDuringWriteLoopKeepsEveryCommittedRow) {
  const auto base =
      std::filesystem::temp_directory_path() / ("p2pgit-storage-kill-" + std::to_string(getpid()));
  std::filesystem::remove_all(base);
  std::mt19937 rng(0x5eed'2024);
  uint32_t min_rows = ROWS, max_rows = 0;

  for (int run_index = 0; run_index < RUNS; ++run_index) {
    SCOPED_TRACE("run " + std::to_string(run_index));
    const auto db = base / std::to_string(run_index) / "store.db";
    // Half the runs stop at a drawn row count; the others after a drawn delay, which can land
    // anywhere, including inside Open's migration or a WAL checkpoint.
    uint32_t stop_at = 0;
    std::chrono::microseconds delay{0};
    if (run_index % 2 == 0) {
      stop_at = std::uniform_int_distribution<uint32_t>(1, ROWS)(rng);
    } else {
      delay = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 400'000)(rng));
    }

    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ChildWriteLoop(db, fds[1]);
    }
    close(fds[1]);
    ChildRun run = KillChild(pid, fds[0], stop_at, delay);
    close(fds[0]);

    auto store = Store::Open(db);
    ASSERT_TRUE(store) << store.message();
    auto integrity = store->IntegrityCheck();
    ASSERT_TRUE(integrity) << integrity.message();
    EXPECT_EQ(*integrity, "ok");

    // Every reported row is present with its bytes, in order; at most one more row (committed,
    // killed before reporting) may follow.
    auto count = store->CountMessages();
    ASSERT_TRUE(count);
    EXPECT_GE(*count, static_cast<int64_t>(run.reported));
    EXPECT_LE(*count, static_cast<int64_t>(run.reported) + 1);
    uint32_t index = 0;
    int64_t cursor = 0;
    while (true) {
      auto page = store->MessagesSince(cursor, MAX_MESSAGES_PER_PAGE);
      ASSERT_TRUE(page) << page.message();
      if (page->empty()) break;
      for (const auto& m : *page) {
        StoredMessage expected = Row(index);
        expected.arrival = m.arrival;
        ASSERT_EQ(m, expected) << "row " << index;
        cursor = m.arrival;
        ++index;
      }
    }
    EXPECT_EQ(static_cast<int64_t>(index), *count);
    if (run.finished) {
      EXPECT_EQ(run.reported, ROWS);
    }
    // The reopened store takes writes again.
    EXPECT_TRUE(store->PutMessage(Row(ROWS + 1)));
    std::printf("run %2d: killed after %5u reported commits, %5lld rows on disk\n", run_index, run.reported,
                static_cast<long long>(*count));
    min_rows = std::min(min_rows, run.reported);
    max_rows = std::max(max_rows, run.reported);
  }
  std::filesystem::remove_all(base);
  // The kills landed at different points.
  EXPECT_LT(min_rows, max_rows);
  std::printf("kill points ranged over %u..%u committed rows\n", min_rows, max_rows);
}

}  // namespace
