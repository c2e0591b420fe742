// Time and randomness seams, so retry, backoff and deadlines can be tested instantly.
#pragma once

#include <cstdint>
#include <memory>
#include <random>

namespace lienthong::node {

class Clock {
public:
    virtual ~Clock() = default;
    // Milliseconds since the Unix epoch (wall time: stored in records and receipts).
    virtual uint64_t now_ms() = 0;
};

std::unique_ptr<Clock> make_system_clock();

// Jitter source for backoff; not used for anything secret (keys come from libsodium).
class Rng {
public:
    explicit Rng(uint64_t seed) : m_gen(seed) {}
    // Uniform in [lo, hi].
    uint64_t between(uint64_t lo, uint64_t hi) {
        return std::uniform_int_distribution<uint64_t>(lo, hi)(m_gen);
    }

private:
    std::mt19937_64 m_gen;
};

}  // namespace lienthong::node
