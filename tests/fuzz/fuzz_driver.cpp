// A bounded, deterministic replay and mutation driver for our libFuzzer targets, for compilers
// without libFuzzer (g++). Usage:
//   <target>_fuzz [--iterations N] [--seed S] [--write-corpus DIR] [FILE...]
// With FILEs, runs each once (replaying a crash found elsewhere). Otherwise runs every seed
// from lienthong_fuzz_seeds() and every file of the target's checked-in corpus
// (tests/fuzz/corpus/<target>/, named by LIENTHONG_FUZZ_CORPUS_DIR: real samples and what
// libFuzzer runs found), then N mutants of them (byte flips, truncations, insertions,
// deletions, splices, interesting msgpack bytes) drawn from a fixed-seed PRNG, so a failure
// reproduces exactly. --write-corpus writes the seeds only. libsodium's RNG is made deterministic too, so sealed seeds repeat.
// A crash, sanitizer report, escaped exception or broken invariant fails the ctest test;
// the mutant is written to fuzz-crash-<target>.bin in the working directory first.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>

#include "fuzz_target.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define LT_HAVE_SANITIZER_DEATH_CALLBACK 1
#endif

namespace {

using Input = std::vector<uint8_t>;

// --- deterministic libsodium RNG -----------------------------------------------------------
uint64_t g_rng_counter = 0;
const char* det_name() { return "lienthong-fuzz-deterministic"; }
void det_buf(void* buf, size_t n) {
    unsigned char seed[randombytes_SEEDBYTES] = {0};
    std::memcpy(seed, &g_rng_counter, sizeof g_rng_counter);
    ++g_rng_counter;
    randombytes_buf_deterministic(buf, n, seed);
}
uint32_t det_random() {
    uint32_t v = 0;
    det_buf(&v, sizeof v);
    return v;
}
randombytes_implementation g_det_impl = {det_name, det_random, nullptr, nullptr, det_buf, nullptr};

// --- mutation ------------------------------------------------------------------------------
constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x90, 0x91, 0x9f, 0xa0, 0xbf,
                                    0xc0, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xca, 0xcb, 0xcc, 0xcd,
                                    0xce, 0xcf, 0xd0, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
                                    0xe0, '\n', ':', '-', '"', '[', '{', '*'};

class Mutator {
public:
    Mutator(uint64_t seed, const std::vector<Input>& corpus) : m_rng(seed), m_corpus(corpus) {}

    Input next() {
        Input in = m_corpus[pick(m_corpus.size())];
        const size_t rounds = 1 + pick(4);
        for (size_t i = 0; i < rounds; ++i) mutate(in);
        return in;
    }

private:
    size_t pick(size_t n) { return n == 0 ? 0 : static_cast<size_t>(m_rng() % n); }

    void mutate(Input& in) {
        switch (pick(9)) {
            case 0:  // flip one bit
                if (!in.empty()) in[pick(in.size())] ^= static_cast<uint8_t>(1u << pick(8));
                break;
            case 1:  // overwrite a byte with a random value
                if (!in.empty()) in[pick(in.size())] = static_cast<uint8_t>(m_rng());
                break;
            case 2:  // overwrite a byte with an interesting one (msgpack type markers, YAML syntax)
                if (!in.empty()) in[pick(in.size())] = kInteresting[pick(sizeof kInteresting)];
                break;
            case 3:  // truncate
                in.resize(pick(in.size() + 1));
                break;
            case 4: {  // insert 1-8 bytes
                const size_t at = pick(in.size() + 1), n = 1 + pick(8);
                Input ins(n);
                for (auto& b : ins) b = pick(2) ? kInteresting[pick(sizeof kInteresting)] : static_cast<uint8_t>(m_rng());
                in.insert(in.begin() + static_cast<long>(at), ins.begin(), ins.end());
                break;
            }
            case 5: {  // delete a range
                if (in.empty()) break;
                const size_t at = pick(in.size()), n = 1 + pick(std::min<size_t>(16, in.size() - at));
                in.erase(in.begin() + static_cast<long>(at), in.begin() + static_cast<long>(at + n));
                break;
            }
            case 6: {  // duplicate a chunk in place
                if (in.empty() || in.size() > (1u << 20)) break;
                const size_t at = pick(in.size()), n = 1 + pick(std::min<size_t>(32, in.size() - at));
                Input chunk(in.begin() + static_cast<long>(at), in.begin() + static_cast<long>(at + n));
                in.insert(in.begin() + static_cast<long>(pick(in.size() + 1)), chunk.begin(), chunk.end());
                break;
            }
            case 7: {  // splice: head of this input, tail of another seed
                const Input& other = m_corpus[pick(m_corpus.size())];
                const size_t cut = pick(in.size() + 1), from = pick(other.size() + 1);
                in.resize(cut);
                in.insert(in.end(), other.begin() + static_cast<long>(from), other.end());
                break;
            }
            default: {  // add or subtract a small amount from a byte (lengths, counts)
                if (in.empty()) break;
                auto& b = in[pick(in.size())];
                b = static_cast<uint8_t>(b + (pick(2) ? 1 : -1) * static_cast<int>(1 + pick(4)));
                break;
            }
        }
    }

    std::mt19937_64 m_rng;
    const std::vector<Input>& m_corpus;
};

// The files of the checked-in corpus directory, in name order; none when there is none.
std::vector<Input> read_corpus_dir() {
    std::vector<Input> out;
#ifdef LIENTHONG_FUZZ_CORPUS_DIR
    const std::filesystem::path dir = LIENTHONG_FUZZ_CORPUS_DIR;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return out;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
#endif
    return out;
}

std::string g_crash_path;
Input g_current;

void save_current() {
    std::ofstream out(g_crash_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(g_current.data()), static_cast<std::streamsize>(g_current.size()));
}

void run(const Input& in) {
    g_current = in;
    // The input reaches the disk only when it matters: the abort handler and the sanitizer
    // death callback below write it.
    LLVMFuzzerTestOneInput(in.data(), in.size());
}

#ifdef LT_HAVE_SANITIZER_DEATH_CALLBACK
void on_sanitizer_death() {
    save_current();
    std::fprintf(stderr, "fuzz: failing input written to %s (%zu bytes)\n", g_crash_path.c_str(),
                 g_current.size());
}
#endif

extern "C" void on_abort(int) {
    save_current();
    std::fprintf(stderr, "fuzz: failing input written to %s (%zu bytes)\n", g_crash_path.c_str(),
                 g_current.size());
    std::signal(SIGABRT, SIG_DFL);
    std::abort();
}

}  // namespace

int main(int argc, char** argv) {
    randombytes_set_implementation(&g_det_impl);
    if (sodium_init() < 0) return 2;

    uint64_t iterations = 20000, seed = 0x4c69656e54686f6eull;  // "LienThon"
    std::string corpus_dir;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--iterations" && i + 1 < argc)
            iterations = std::stoull(argv[++i]);
        else if (a == "--seed" && i + 1 < argc)
            seed = std::stoull(argv[++i]);
        else if (a == "--write-corpus" && i + 1 < argc)
            corpus_dir = argv[++i];
        else if (!a.empty() && a[0] == '-') {
            std::cerr << "usage: " << argv[0] << " [--iterations N] [--seed S] [--write-corpus DIR] [FILE...]\n";
            return 2;
        } else
            files.push_back(a);
    }
    const std::string name = std::filesystem::path(argv[0]).filename().string();
    g_crash_path = "fuzz-crash-" + name + ".bin";
    std::signal(SIGABRT, on_abort);
#ifdef LT_HAVE_SANITIZER_DEATH_CALLBACK
    __sanitizer_set_death_callback(on_sanitizer_death);
#endif

    if (!files.empty()) {
        for (const auto& f : files) {
            std::ifstream in(f, std::ios::binary);
            if (!in) {
                std::cerr << name << ": cannot read " << f << "\n";
                return 2;
            }
            run(Input(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
        }
        std::cout << name << ": replayed " << files.size() << " file(s), no failure\n";
        return 0;
    }

    auto corpus = lienthong_fuzz_seeds();
    if (corpus.empty()) {
        std::cerr << name << ": no seeds\n";
        return 2;
    }
    if (!corpus_dir.empty()) {
        std::filesystem::create_directories(corpus_dir);
        for (size_t i = 0; i < corpus.size(); ++i) {
            std::ofstream out(corpus_dir + "/seed-" + std::to_string(i), std::ios::binary);
            out.write(reinterpret_cast<const char*>(corpus[i].data()), static_cast<std::streamsize>(corpus[i].size()));
        }
        std::cout << name << ": wrote " << corpus.size() << " seeds to " << corpus_dir << "\n";
        return 0;
    }

    const size_t seeds = corpus.size();
    for (auto& f : read_corpus_dir()) corpus.push_back(std::move(f));
    const auto start = std::chrono::steady_clock::now();
    for (const auto& s : corpus) run(s);
    Mutator m(seed, corpus);
    for (uint64_t i = 0; i < iterations; ++i) run(m.next());
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    std::cout << name << ": " << seeds << " seeds, " << corpus.size() - seeds << " corpus files and "
              << iterations << " mutants (seed " << seed
              << ") in " << ms.count() << " ms, no failure\n";
    return 0;
}
