// The secret key file: round trip, permissions, refusal of garbage, and no overwriting.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "node/keyfile.h"
#include "test_util.h"

using namespace lienthong;
using namespace lienthong::node;
using lienthong::testing::TempDir;

namespace {
void write_text(const std::string& path, const std::string& text, mode_t mode) {
    {
        std::ofstream out(path);
        out << text;
    }
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}
}  // namespace

TEST_CASE("a written key file loads back to the same identity", "[node][keyfile]") {
    TempDir dir;
    const auto id = protocol::SecretIdentity::generate("000.00.31.H14");
    const std::string path = dir.file("node.key");
    REQUIRE(write_key_file(path, id).ok());

    struct stat st{};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    auto back = load_key_file(path);
    REQUIRE(back.ok());
    CHECK(back->pub == id.pub);
    CHECK(back->sign_secret == id.sign_secret);
    CHECK(back->box_secret == id.box_secret);
    CHECK(back->check_consistent().ok());
}

TEST_CASE("a key file readable by others is refused with the fix", "[node][keyfile]") {
    TempDir dir;
    const std::string path = dir.file("node.key");
    REQUIRE(write_key_file(path, protocol::SecretIdentity::generate("A")).ok());
    for (mode_t mode : {0644, 0640, 0604, 0660}) {
        REQUIRE(::chmod(path.c_str(), mode) == 0);
        auto r = load_key_file(path);
        INFO("mode " << std::oct << mode);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.error(), Catch::Contains("chmod 600"));
    }
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
    CHECK(load_key_file(path).ok());
}

TEST_CASE("a missing key file is refused with a hint", "[node][keyfile]") {
    TempDir dir;
    auto r = load_key_file(dir.file("absent.key"));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("absent.key") && Catch::Contains("lienthong-admin init"));
}

TEST_CASE("a directory in place of the key file is refused", "[node][keyfile]") {
    TempDir dir;
    REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
    auto r = load_key_file(dir.path());
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains("not a regular file"));
}

TEST_CASE("garbage content is refused", "[node][keyfile]") {
    TempDir dir;
    const auto id = protocol::SecretIdentity::generate("A");
    const std::string sign = protocol::to_base64(id.sign_secret), box = protocol::to_base64(id.box_secret);
    const std::vector<std::string> bad = {
        "",
        "# only a comment\n",
        "hello world\n",
        "\x01\x02\xff\xfe garbage\n",
        "lienthong-secret v2 A sign:" + sign + " box:" + box + "\n",
        "lienthong-id v1 A sign:" + sign + " box:" + box + "\n",
        "lienthong-secret v1 A sign:" + sign + "\n",
        "lienthong-secret v1 A sign:" + sign + " box:" + box + " extra\n",
        "lienthong-secret v1 bad/agency sign:" + sign + " box:" + box + "\n",
        "lienthong-secret v1 A box:" + box + " sign:" + sign + "\n",
        "lienthong-secret v1 A sign:" + box + " box:" + box + "\n",   // 32 bytes where 64 belong
        "lienthong-secret v1 A sign:" + sign + " box:" + sign + "\n",  // 64 where 32 belong
        "lienthong-secret v1 A sign:!!!! box:" + box + "\n",
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        INFO("case " << i << ": " << bad[i]);
        const std::string path = dir.file("k" + std::to_string(i));
        write_text(path, bad[i], 0600);
        CHECK_FALSE(load_key_file(path).ok());
    }
    const std::string path = dir.file("good");
    write_text(path, "# comment\n\nlienthong-secret v1 A sign:" + sign + " box:" + box + "\n", 0600);
    auto good = load_key_file(path);
    REQUIRE(good.ok());
    CHECK(good->pub == id.pub);
}

TEST_CASE("write_key_file refuses to overwrite an existing file", "[node][keyfile]") {
    TempDir dir;
    const std::string path = dir.file("node.key");
    const auto first = protocol::SecretIdentity::generate("A");
    REQUIRE(write_key_file(path, first).ok());
    auto st = write_key_file(path, protocol::SecretIdentity::generate("B"));
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error(), Catch::Contains("refusing to overwrite"));
    auto still = load_key_file(path);
    REQUIRE(still.ok());
    CHECK(still->pub == first.pub);
    CHECK_FALSE(write_key_file(dir.file("no/such/dir/node.key"), first).ok());
}

TEST_CASE("rotating keeps every earlier key as previous, newest first", "[node][keyfile]") {
    TempDir dir;
    const std::string path = dir.file("node.key");
    const auto first = protocol::SecretIdentity::generate("000.00.31.H14");
    const auto second = protocol::SecretIdentity::generate("000.00.31.H14");
    const auto third = protocol::SecretIdentity::generate("000.00.31.H14");
    REQUIRE(write_key_file(path, first).ok());
    REQUIRE(rotate_key_file(path, second).ok());
    REQUIRE(rotate_key_file(path, third).ok());
    struct stat st{};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto ring = load_key_ring(path);
    REQUIRE(ring.ok());
    REQUIRE(ring->size() == 3);
    CHECK((*ring)[0].pub == third.pub);
    CHECK((*ring)[1].pub == second.pub);
    CHECK((*ring)[2].pub == first.pub);
    auto current = load_key_file(path);
    REQUIRE(current.ok());
    CHECK(current->pub == third.pub);
    // Another agency's key cannot be rotated in.
    CHECK_FALSE(rotate_key_file(path, protocol::SecretIdentity::generate("000.00.31.H15")).ok());
}

TEST_CASE("a key ring with a misplaced or unknown marker is refused", "[node][keyfile]") {
    TempDir dir;
    const std::string path = dir.file("node.key");
    const auto a = protocol::SecretIdentity::generate("000.00.31.H14");
    const std::string line = "lienthong-secret v1 000.00.31.H14 sign:" + protocol::to_base64(a.sign_secret) +
                             " box:" + protocol::to_base64(a.box_secret);
    write_text(path, line + " previous\n", 0600);  // the current key marked previous
    CHECK_FALSE(load_key_ring(path).ok());
    write_text(path, line + "\n" + line + "\n", 0600);  // an earlier key without the marker
    CHECK_FALSE(load_key_ring(path).ok());
    write_text(path, line + " older\n", 0600);  // an unknown marker
    CHECK_FALSE(load_key_ring(path).ok());
    write_text(path, line + "\n" + line + " previous\n", 0600);
    CHECK(load_key_ring(path).ok());
}
