// Per-peer rate limits (CONVENTIONS.md: time is injected so limits are testable without sleeping).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace p2pgit::gossip {

using Clock = std::chrono::steady_clock;

/**
 * Classic token bucket: `rate` tokens per second, at most `burst` stored. Starts full.
 * Take(cost, now) spends tokens if enough are there and says whether it did.
 */
class TokenBucket {
 public:
  TokenBucket(double rate_per_second, double burst, Clock::time_point now)
      : m_rate(rate_per_second), m_burst(burst), m_tokens(burst), m_last(now) {}

  bool Take(double cost, Clock::time_point now) {
    Refill(now);
    if (m_tokens < cost) return false;
    m_tokens -= cost;
    return true;
  }

  double Available(Clock::time_point now) {
    Refill(now);
    return m_tokens;
  }

 private:
  void Refill(Clock::time_point now) {
    if (now <= m_last) return;
    double seconds = std::chrono::duration<double>(now - m_last).count();
    m_tokens = std::min(m_burst, m_tokens + seconds * m_rate);
    m_last = now;
  }

  double m_rate;
  double m_burst;
  double m_tokens;
  Clock::time_point m_last;
};

}  // namespace p2pgit::gossip
