// lienthong-admin: every admin task for a lienthong-node, over its local API.
#include <sodium.h>

#include <cstdlib>

#include "admin/commands.h"

int main(int argc, char** argv) {
    if (sodium_init() < 0) return lienthong::admin::report_error("libsodium failed to initialise");
    CLI::App app{"lienthong-admin: manage a Liên Thông node (keys, peers, documents, receipts)"};
    app.require_subcommand(1);
    lienthong::admin::Globals g;
    if (const char* env = std::getenv("LIENTHONG_CONFIG")) g.config_path = env;
    app.add_option("-c,--config", g.config_path, "the node's config file (default: $LIENTHONG_CONFIG or ./node.yaml)");
    app.add_flag("--json", g.json, "print machine-readable JSON (read commands)");
    int rc = 0;
    using namespace lienthong::admin;
    add_init(app, g, rc);
    add_id(app, g, rc);
    add_status(app, g, rc);
    add_reload(app, g, rc);
    add_key(app, g, rc);
    add_peer(app, g, rc);
    add_transfers(app, g, rc);
    add_send(app, g, rc);
    add_inbox(app, g, rc);
    add_outbox(app, g, rc);
    add_show(app, g, rc);
    add_export(app, g, rc);
    add_receipt(app, g, rc);
    add_import(app, g, rc);
    add_set_status(app, g, rc);
    add_report(app, g, rc);
    add_root(app, g, rc);
    add_issuer(app, g, rc);
    add_enroll(app, g, rc);
    add_revoke(app, g, rc);
    add_directory(app, g, rc);
    add_backup(app, g, rc);
    add_restore(app, g, rc);
    add_verify(app, g, rc);
    add_compact(app, g, rc);
    add_audit(app, g, rc);
    add_vdxp(app, g, rc);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const std::exception& e) {
        return report_error(e.what());
    }
    return rc;
}
