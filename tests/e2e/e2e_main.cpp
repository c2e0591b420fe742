// Catch2 main for the e2e suite (initialises libsodium once). Its own copy of
// tests/test_main.cpp so the suite builds under -DLIENTHONG_SANITIZE=ON too: there g++ 12 warns
// (-Wmaybe-uninitialized, a false positive inside catch.hpp's std::function/regex code) and
// -Werror stops the shared test main; the warning is relaxed for this one file only.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <sodium.h>

int main(int argc, char** argv) {
    if (sodium_init() < 0) return 1;
    return Catch::Session().run(argc, argv);
}
