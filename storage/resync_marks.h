// ResyncMarks: what a node restored from a backup still has to fetch again (issue 17). The
// backup holds what arrived before it was taken; what the peers delivered after that they
// consider delivered, so the restored node asks each of them for it (node/resync.cpp) until
// one reconciliation with that peer finds nothing missing.
//
// Table "resync" (in the Store's environment):
// | key            | value                                                               |
// |----------------|---------------------------------------------------------------------|
// | 0x00 "since"   | u64 BE: when the backup restored was taken (the restore writes it)  |
// | agency         | u64 BE: when a reconciliation with that peer found nothing missing  |
// No key but the first starts with 0x00 (an agency code is never empty).
// Thread-safety: as Env.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "storage/lmdb.h"

namespace lienthong::storage {

class ResyncMarks {
public:
    static Result<std::unique_ptr<ResyncMarks>> open(Env& env);

    // When the backup this database was restored from was taken; none when it was not
    // restored, or every peer has been reconciled with since the last restore.
    std::optional<uint64_t> since(const ReadTxn& t) const;
    // A restore: every peer is to be reconciled with again, from `since_ms`.
    Status restored(WriteTxn& t, uint64_t since_ms);
    bool done(const ReadTxn& t, const std::string& agency) const;
    Status set_done(WriteTxn& t, const std::string& agency, uint64_t now_ms);

private:
    MDB_dbi m_table{};
};

}  // namespace lienthong::storage
