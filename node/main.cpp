// lienthong-node --config node.yaml [--log-format text|json]
#include <malloc.h>
#include <sodium.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "node/keyfile.h"
#include "node/node.h"

int main(int argc, char** argv) {
    CLI::App app{"lienthong-node: federated document exchange node"};
    std::string config_path;
    std::string log_format = "text";
    app.add_option("-c,--config", config_path, "path to node.yaml")->required();
    app.add_option("--log-format", log_format, "text (key=value, the default) or json (one object per line)")
        ->check(CLI::IsMember({"text", "json"}));
    app.footer("Signals: SIGTERM/SIGINT stop after the commit under way; SIGHUP re-reads the config "
               "(log_level, confidential_to, retry, peers). See lienthong-node(1).");
    CLI11_PARSE(app, argc, argv);
    // Large documents' buffers are short-lived. glibc would move its mmap threshold up to
    // 32 MiB after the first such buffer is freed and serve the next from a heap that keeps
    // the pages, so the node's resident size would stay at its largest document times the
    // copies in flight. A fixed threshold of 4 MiB gives those back when freed; a lower one
    // (256 KiB was tried) cost a third of the MB/s for 1 MiB documents in page faults.
    ::mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    ::mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
    try {
        if (sodium_init() < 0) {
            std::fprintf(stderr, "lienthong-node: libsodium failed to initialise\n");
            return 1;
        }
        ::umask(077);  // every file and socket the node creates is private to its user
        auto config = lienthong::node::load_config(config_path);
        if (!config.ok()) {
            std::fprintf(stderr, "lienthong-node: %s\n", config.error().c_str());
            return 2;
        }
        lienthong::node::parse_log_format(log_format, config->log_format);  // checked by CLI11 above
        auto ring = lienthong::node::load_key_ring(config->key_file);
        if (!ring.ok()) {
            std::fprintf(stderr, "lienthong-node: %s\n", ring.error().c_str());
            return 2;
        }
        auto keys = std::move(ring).value();
        auto current = std::move(keys.front());
        keys.erase(keys.begin());
        auto node = lienthong::node::make_node(*config, std::move(current), lienthong::node::make_system_clock(),
                                               std::move(keys));
        if (!node.ok()) {
            std::fprintf(stderr, "lienthong-node: %s\n", node.error().c_str());
            return 1;
        }
        auto st = (*node)->run();
        if (!st.ok()) {
            std::fprintf(stderr, "lienthong-node: %s\n", st.error().c_str());
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lienthong-node: fatal: %s\n", e.what());
        return 1;
    }
}
