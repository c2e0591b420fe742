// The contract between a fuzz target and the replay/mutation driver (fuzz_driver.cpp).
//
// Each target file defines the libFuzzer entry point and a seed corpus built in code from
// valid encodings, so the driver needs no files and libFuzzer can be given the same seeds
// (fuzz_driver --write-corpus DIR). A target reports a broken invariant with abort(), never
// by returning: the driver and libFuzzer both treat that as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// Valid (or nearly valid) inputs the mutations start from.
std::vector<std::vector<uint8_t>> lienthong_fuzz_seeds();

#define LT_FUZZ_CHECK(cond)                                                               \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            std::fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, __FILE__, \
                         __LINE__);                                                       \
            std::abort();                                                                 \
        }                                                                                 \
    } while (0)
