// A buggy or hostile local client (issue 15): a document system on the local API, or whatever
// lands in the drop folder. Each case below is made against a real lienthong-node; after it
// the node still answers, stores nothing of the bad input, and logs it once, on one line.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/e2e/harness.h"

using namespace lienthong::e2e;
namespace fs = std::filesystem;
using lienthong::protocol::Bytes;

namespace {

void write_file(const fs::path& path, std::string_view data) {
    std::ofstream f(path, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f) throw std::runtime_error("cannot write " + path.string());
}

bool exists_nofollow(const fs::path& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0;
}

// A raw DEALER on the node's API socket: it sends whatever parts a broken client would.
struct RawApiClient {
    zmq::context_t ctx{1};
    zmq::socket_t sock{ctx, zmq::socket_type::dealer};
    explicit RawApiClient(const TestNode& n) {
        sock.set(zmq::sockopt::linger, 0);
        sock.set(zmq::sockopt::rcvtimeo, 5000);
        sock.connect("ipc://" + n.socket_path());
    }
    void send(const std::vector<Bytes>& parts) {
        for (size_t i = 0; i < parts.size(); ++i)
            sock.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    // The answer's map (after the empty delimiter), or nullopt within 5 s.
    std::optional<json> answer() {
        std::vector<zmq::message_t> parts;
        do {
            zmq::message_t m;
            if (!sock.recv(m)) return std::nullopt;
            parts.push_back(std::move(m));
        } while (parts.back().more() && parts.size() < 8);
        if (parts.size() != 2 || parts[0].size() != 0) return std::nullopt;
        return json::from_msgpack(parts[1].data<uint8_t>(), parts[1].data<uint8_t>() + parts[1].size());
    }
};

Bytes to_msgpack_bytes(const json& j) { return json::to_msgpack(j); }

}  // namespace

TEST_CASE("a local API message of many parts is answered with an error, and the API keeps working",
          "[e2e][faults]") {
    TestNode a("000.00.01.H70");
    a.start();
    RawApiClient raw(a);
    const Bytes status = to_msgpack_bytes({{"op", "status"}});
    // An empty delimiter and four requests: one error, none of them run.
    raw.send({Bytes{}, status, status, status, status});
    auto r = raw.answer();
    REQUIRE(r.has_value());
    CHECK(r->at("ok") == false);
    CHECK_THAT(r->at("error").get<std::string>(), Catch::Contains("one msgpack part") && Catch::Contains("got 5 parts"));
    // No empty delimiter (a DEALER that forgot it).
    raw.send({status});
    r = raw.answer();
    REQUIRE(r.has_value());
    CHECK_THAT(r->at("error").get<std::string>(), Catch::Contains("got 1 part"));
    // 200 parts: drained, answered once.
    raw.send(std::vector<Bytes>(200, Bytes{1}));
    r = raw.answer();
    REQUIRE(r.has_value());
    CHECK(r->at("ok") == false);
    // Not msgpack; msgpack that is not a request.
    raw.send({Bytes{}, Bytes{0xc1, 0x00}});
    r = raw.answer();
    REQUIRE(r.has_value());
    CHECK_THAT(r->at("error").get<std::string>(), Catch::Contains("not valid msgpack"));
    raw.send({Bytes{}, to_msgpack_bytes(json::array({1, 2}))});
    r = raw.answer();
    REQUIRE(r.has_value());
    CHECK_THAT(r->at("error").get<std::string>(), Catch::Contains("'op'"));
    // The node still answers a real client, and stops at once.
    CHECK(a.api({{"op", "status"}}).at("agency") == a.agency());
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(a.stop() == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

TEST_CASE("a request over the API's size cap is not read, and the API keeps working", "[e2e][faults]") {
    NodeOptions o;
    o.extra_yaml = "limits:\n  max_envelope_bytes: 1048576\n";
    TestNode a("000.00.01.H71", o);
    a.start();
    {
        RawApiClient raw(a);
        // 2 × max_envelope_bytes + 1 MiB is the cap: 4 MiB is over it.
        raw.send({Bytes{}, Bytes(4u << 20, 0x90)});
        CHECK_FALSE(raw.answer().has_value());  // the connection was closed, nothing read
    }
    CHECK(a.api({{"op", "status"}}).at("agency") == a.agency());
}

TEST_CASE("attachment names Windows cannot hold and all-zero peer keys are refused on the API", "[e2e][faults]") {
    TestNode a("000.00.01.H72"), b("000.00.02.H72");
    a.add_peer(b);
    a.start();
    std::mt19937_64 rng(72);
    for (const std::string name : {"CON.txt", "lpt1", "a:b.pdf", "báo cáo.pdf ", "x\ny.txt", "../x.pdf"}) {
        TestDoc d = make_doc(1, rng, 1, 100);
        d.attachments[0].name = name;
        auto r = a.call(send_request({b.agency()}, d));
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("attachment"));
    }
    CHECK(outbox_ids(a, false).empty());
    // A peer whose keys are all zeros: every party would share one key with it.
    const std::string zero = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    auto r = a.call({{"op", "peer_add"},
                     {"identity", "lienthong-id v1 000.00.03.H72 sign:" + zero + " box:" + zero},
                     {"endpoint", "tcp://127.0.0.1:1"}});
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("not a valid Ed25519 public key"));
    CHECK(a.api({{"op", "peer_list"}}).at("peers").size() == 1);
}

TEST_CASE("a drop folder that is a symbolic link is refused at start", "[e2e][faults]") {
    NodeOptions o;
    o.extra_yaml = "drop_dir: drop\n";
    TestNode a("000.00.01.H73", o);
    const fs::path drop = fs::path(a.dir()) / "drop", elsewhere = fs::path(a.dir()) / "elsewhere";
    fs::create_directories(drop);
    fs::create_directories(elsewhere);
    fs::create_directory_symlink(elsewhere, drop / "outgoing");
    write_file(a.config_path(), a.config_yaml());
    const auto p = run_process({node_bin(), "--config", a.config_path()}, 15s);
    INFO("stderr: " << p.err);
    CHECK(p.exit_code > 0);
    CHECK(p.err_lines().size() == 1);
    CHECK_THAT(p.err, Catch::Contains("outgoing") && Catch::Contains("drop folder"));
}

TEST_CASE("odd entries in the drop folder go to failed/ once, and a folder made unusable is logged, not retried",
          "[e2e][faults]") {
    NodeOptions o;
    o.extra_yaml = "drop_dir: drop\n";
    TestNode a("000.00.01.H74", o), b("000.00.02.H74");
    a.add_peer(b);
    a.start();
    const fs::path out = fs::path(a.dir()) / "drop" / "outgoing", failed = fs::path(a.dir()) / "drop" / "failed";
    const fs::path target = fs::path(a.dir()) / "secret.txt";
    write_file(target, "not for the drop folder");
    fs::create_symlink(target, out / "link.edxml");
    REQUIRE(::mkfifo((out / "pipe.edxml").c_str(), 0600) == 0);
    fs::create_directory(out / "folder.edxml");
    const std::string long_name = std::string(250, 'v') + ".xml";
    write_file(out / long_name, "<not edxml>");
    write_file(out / "line\nbreak.edxml", "<not edxml>");

    REQUIRE(wait_until([&] { return fs::is_empty(out); }, 20s, 50ms));
    // Each is in failed/ with its .error; the link was moved, not followed.
    for (const char* name : {"link.edxml", "pipe.edxml", "folder.edxml", "line\nbreak.edxml"}) {
        INFO(name);
        CHECK(exists_nofollow(failed / name));
        CHECK(fs::exists(failed / (std::string(name) + ".error")));
    }
    CHECK(fs::is_symlink(failed / "link.edxml"));
    CHECK(fs::file_size(target) == 23);
    size_t shortened = 0;
    for (const auto& e : fs::directory_iterator(failed)) {
        const std::string n = e.path().filename().string();
        CHECK(n.size() <= 255);
        if (n.starts_with(std::string(200, 'v'))) ++shortened;
    }
    CHECK(shortened == 2);  // the file and its .error
    CHECK(a.log_count("event=drop_failed") == 5);
    // The newline is escaped in the log: every line is one event.
    CHECK(a.log_contains("line\\nbreak.edxml"));
    std::istringstream log(a.log_text());
    for (std::string line; std::getline(log, line);)
        CHECK_THAT(line, Catch::StartsWith("20") || Catch::StartsWith("#"));

    // outgoing/ replaced by a link while running: refused, logged once per 10 s, nothing read.
    fs::remove(out);
    fs::create_directory_symlink(fs::path(a.dir()), out);
    REQUIRE(wait_until([&] { return a.log_count("event=drop_folder_unusable") >= 1; }, 10s, 50ms));
    std::this_thread::sleep_for(3s);  // several scans
    CHECK(a.log_count("event=drop_folder_unusable") == 1);
    CHECK(fs::exists(target));
    CHECK(fs::exists(fs::path(a.dir()) / "node.yaml"));
    CHECK(a.api({{"op", "status"}}).at("agency") == a.agency());
}
