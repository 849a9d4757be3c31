#include <gtest/gtest.h>

#include "gossip/seen_cache.h"
#include "gossip/token_bucket.h"

using namespace p2pgit::gossip;
using namespace std::chrono_literals;

TEST(TokenBucket, SpendsBurstThenRefillsAtRate) {
  auto t0 = Clock::time_point{} + 1h;
  TokenBucket bucket(10.0, 5.0, t0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(bucket.Take(1, t0));
  EXPECT_FALSE(bucket.Take(1, t0));
  EXPECT_FALSE(bucket.Take(1, t0 + 50ms));  // half a token
  EXPECT_TRUE(bucket.Take(1, t0 + 100ms));
  EXPECT_NEAR(bucket.Available(t0 + 10s), 5.0, 1e-9);  // capped at burst
  EXPECT_FALSE(bucket.Take(6, t0 + 10s));
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  auto t0 = Clock::time_point{} + 1h;
  TokenBucket bucket(1.0, 1.0, t0);
  EXPECT_TRUE(bucket.Take(1, t0));
  EXPECT_FALSE(bucket.Take(1, t0 - 10s));
}

TEST(SeenCache, ForgetsOldestBeyondCapacity) {
  SeenCache cache(3);
  auto id = [](uint8_t n) { MessageId m{}; m[0] = n; m[31] = n; return m; };
  EXPECT_TRUE(cache.Insert(id(1)));
  EXPECT_FALSE(cache.Insert(id(1)));
  EXPECT_TRUE(cache.Insert(id(2)));
  EXPECT_TRUE(cache.Insert(id(3)));
  EXPECT_TRUE(cache.Insert(id(4)));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.Contains(id(1)));
  EXPECT_TRUE(cache.Contains(id(2)));
  EXPECT_TRUE(cache.Contains(id(4)));
}
