// Catalog: what the node knows about official documents beyond their bytes — a summary of
// every sent and received document for filtering and reports, the folded-term index for
// diacritic-insensitive search, the business key (sender, DocumentId), the lifecycle chain
// (revoke / update / replace) and each recipient's processing-status timeline.
//
// Tables (in the Store's environment; opened by Catalog::open). n is the document's local
// number (doc_numbers.h): records keyed by it are written at the end of their table.
// | table        | key                                        | value                                  |
// |--------------|--------------------------------------------|----------------------------------------|
// | doc_summary  | n (u64 BE) + message id (32)               | DocSummary, canonical msgpack list     |
// | doc_by_time  | registered_ms (u64 BE) + message id (32)   | empty: documents in time order         |
// | terms        | folded term + 0x00 + n (u64 BE) + id (32)  | empty: textfold::search_terms(subject) |
// | business     | sender 0x00 document_id 0x00 message id    | business type (u8): the (sender,       |
// |              |                                            |   DocumentId) key → its messages       |
// | lifecycle    | target id (32) + action id (32)            | [type, recorded_ms, reason]            |
// | statuses     | n of the document (u64 BE) + recipient     | StatusEvent, canonical msgpack list    |
// |              |   0x00 + seq (u64 BE, the Store's sequence)|                                        |
// | status_msgs  | status message id (32)                     | document id (32) + recipient: dedup    |
//
// Perspective: a document is outgoing at its sender's node and incoming at a recipient's.
// "recipient" in a StatusEvent is always the agency whose processing it describes (the
// document's recipient), whoever reported it (code 13 is reported by the sender).
//
// Key parts that are text (agency codes, DocumentId, recipients) must not contain a 0x00 byte,
// which separates them: put_document and add_status refuse such values. Folded terms never
// contain one (they are runs of letters and digits).
//
// Derived per document-recipient pair ("pair"), from its timeline replayed in time order with
// protocol::apply_received (an event that cannot follow those before it, such as a 04 after
// the 06, counts for nothing):
//   latest code  the last 01…06 taken ("" when none); 13, 15 and 16 do not change it;
//   recalled     a 15 (update/recall accepted) answered a 13 or a change of the document;
//   arrival      time_ms of the first 01; completion: time_ms of the first 06 taken;
//   owed at now  due_ms != 0 and due_ms < now, no 06, latest code is not 02 (rejected), not
//                recalled, and the document has no Revoke (type 1) lifecycle event.
// An outgoing document has one pair per recipient. An incoming summary does not know which
// recipient this node is, so an incoming document has exactly one pair: the timeline of the
// first of its recipients that has events (or, when none has, an empty timeline).
//
// Damaged values (a summary, event or lifecycle record that does not decode) are skipped by
// every read: summary() returns nullopt, scans and reports leave it out. Nothing is repaired;
// re-putting the document rewrites its summary. Index entries that disagree with the summary
// they point to (left by a damaged summary overwritten) are ignored, not trusted.
//
// Thread-safety: as Store: writes inside one Env::write, reads in any ReadTxn.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/official.h"
#include "protocol/status.h"
#include "storage/doc_numbers.h"
#include "storage/lmdb.h"

namespace lienthong::storage {

using protocol::Hash32;

struct DocSummary {
    Hash32 id{};
    bool outgoing = false;
    std::string sender;
    std::vector<std::string> recipients;  // the envelope's (who actually receives it)
    uint64_t created_ms = 0;              // the sender's time, as signed
    uint64_t registered_ms = 0;           // ours: when sent here, or when received here
    std::string document_id;
    std::string subject;
    std::string type_code, type_name;  // e.g. "1", "Công văn"
    std::string code_number, code_notation;
    uint64_t urgency = 0;
    uint64_t confidentiality = 0;
    uint64_t due_ms = 0;        // 0 = none
    uint8_t business_type = 0;  // protocol::BusinessDocType
    std::optional<Hash32> acts_on;
};

struct StatusEvent {
    Hash32 document{};
    std::string recipient;     // whose processing this is
    std::string reporter;      // who reported it (the recipient, or the sender for 13)
    std::string code;          // "01" … "16" (edxml::kStatusCodes)
    uint64_t time_ms = 0;      // when it happened, as reported
    uint64_t recorded_ms = 0;  // when this node stored it
    protocol::StaffInfo staff;
    std::string description;
    std::optional<Hash32> message_id;  // the status message; none for the 01 a receipt implies
};

struct LifecycleEvent {
    Hash32 target{};
    Hash32 action{};  // the revoke / update / replace message
    uint8_t type = 0;
    uint64_t recorded_ms = 0;
    std::string reason;
};

struct DocFilter {
    std::optional<bool> outgoing;  // nullopt: both directions
    std::string agency;            // sender or a recipient equals this (empty: any)
    std::string type;  // type_code or type_name equals this, case-sensitive (empty: any)
    uint64_t from_ms = 0, to_ms = 0;  // registered_ms in [from, to); 0 = unbounded
    std::string status;               // latest code of any pair equals this ("none": no event)
    bool overdue_only = false;        // due_ms passed (at now_ms) without 06 from someone owing it
    std::optional<uint64_t> min_urgency;  // urgency >= this
    std::string text;                     // every folded term of it prefixes a term of the subject
                                          // (via the terms index; no terms: no text filter;
                                          // invalid UTF-8: no results)
    size_t limit = 100;                   // newest first; 0 = no limit
};

struct OverdueItem {
    Hash32 id{};
    std::string agency;  // as sender: the recipient that owes; as recipient: the sender owed
    std::string subject;
    std::string document_id;
    uint64_t due_ms = 0;
    uint64_t days_overdue = 0;  // whole days past due_ms at now_ms (floor), at least 0
    std::string last_code;      // latest processing code, "" if none
};

struct StatsReport {
    struct Count {
        uint64_t sent = 0, received = 0;
    };
    std::map<std::string, Count> by_agency;  // the other party
    std::map<std::string, Count> by_type;    // type_name, or "(none)"
    uint64_t with_due = 0;                   // document-recipient pairs with a due date, in range
    uint64_t completed_on_time = 0;          // … completed (06) at or before due
    double on_time_rate = 0;                 // completed_on_time / with_due, 0 when with_due == 0
    uint64_t completed = 0;                  // pairs with a 06
    uint64_t median_completion_ms = 0;  // first 01 to first 06, lower median over pairs with both
    std::map<std::string, uint64_t> status_distribution;  // latest code per pair
};

class Catalog {
  public:
    // Opens (creating when missing) the catalog tables in `env`.
    static Result<std::unique_ptr<Catalog>> open(Env& env);

    // What the writes below refuse, checked without a transaction: a caller checks an item
    // before it joins a group commit, so one bad item cannot fail the others' commit.
    static Status check_document(const DocSummary& d);
    static Status check_status(const StatusEvent& e);
    static Status check_lifecycle(const LifecycleEvent& e);

    // --- writes (inside Env::write) ---
    // Records a sent or received document and indexes it (summary, time, terms, business key;
    // no business key when document_id is empty). Idempotent for the same id: a second put
    // replaces the summary and its index entries. Fails on text that is not valid UTF-8 or a
    // key part holding 0x00.
    Status put_document(WriteTxn& t, const DocSummary& d);
    // Appends an event to the timeline of (e.document, e.recipient). `seq` orders events of
    // one timeline; the caller passes a number from the Store's sequence. Returns false (and
    // stores nothing) if e.message_id is set and was recorded before. Fails on an unknown
    // code (edxml::kStatusCodes) or an empty recipient. Lifecycle order is the node's to check.
    Result<bool> add_status(WriteTxn& t, const StatusEvent& e, uint64_t seq);
    Status add_lifecycle(WriteTxn& t, const LifecycleEvent& e);

    // --- reads ---
    std::optional<DocSummary> summary(const ReadTxn& t, const Hash32& id) const;
    // The messages filed under (sender, document_id), with their business types.
    std::vector<std::pair<Hash32, uint8_t>> by_business_key(const ReadTxn& t,
                                                            const std::string& sender,
                                                            const std::string& document_id) const;
    // Events of one recipient's timeline (or of all recipients when `recipient` is empty), in
    // the order of their reported times (time_ms), events of the same time in the order
    // recorded (seq).
    std::vector<StatusEvent> timeline(const ReadTxn& t, const Hash32& document,
                                      const std::string& recipient) const;
    bool has_status_message(const ReadTxn& t, const Hash32& message_id) const;
    // Actions recorded against `target`, oldest first, but for those whose action was sent by
    // another agency than the target (a node refuses them on arrival; one that arrived before
    // its target, or was stored by an older version, is ignored here).
    std::vector<LifecycleEvent> lifecycle(const ReadTxn& t, const Hash32& target) const;

    std::vector<DocSummary> query(const ReadTxn& t, const DocFilter& f, uint64_t now_ms) const;
    // As sender (outgoing = true): per recipient, sent documents with a due date passed at
    // now_ms and no 06 from that recipient, and not revoked. As recipient: what this node
    // owes. Sorted by days overdue (most first), then agency, then due date.
    std::vector<OverdueItem> overdue(const ReadTxn& t, bool outgoing, uint64_t now_ms) const;
    // Documents registered in [from_ms, to_ms) (0 = unbounded). Pairs as described at the top.
    StatsReport stats(const ReadTxn& t, uint64_t from_ms, uint64_t to_ms) const;

    // What a pair's timeline comes to (see the top of this file).
    struct PairState {
        std::string recipient;
        std::string latest;  // "" when no 01…06
        bool recalled = false, recall_pending = false;
        std::optional<uint64_t> arrived_ms, completed_ms;
    };
    // One recipient's timeline replayed with protocol::apply_received: `events` in time order
    // (timeline()), `changes_recorded_ms` when the document's revokes, updates and replaces
    // were recorded here (a 15 or 16 may answer a change recorded after the previous answer).
    // Calls taken(i) for each event taken; returns the state at the end.
    static protocol::ProcessingState replay(const std::vector<StatusEvent>& events,
                                            const std::vector<uint64_t>& changes_recorded_ms,
                                            const std::function<void(size_t)>& taken = {});
    // REQUIRES: as replay.
    static PairState summarize(std::string recipient, const std::vector<StatusEvent>& events,
                               const std::vector<uint64_t>& changes_recorded_ms = {});

  private:
    // Orders (seq, event) pairs by the event's reported time, then by seq.
    static void sort_by_time(std::vector<std::pair<uint64_t, StatusEvent>>& events);
    // The pairs of `d`, in the order of d.recipients.
    std::vector<PairState> pairs(const ReadTxn& t, const DocSummary& d) const;
    bool revoked(const ReadTxn& t, const Hash32& id) const;
    // False when both summaries are stored and their senders differ: such an action never counts.
    bool by_target_sender(const ReadTxn& t, const LifecycleEvent& e) const;
    // Calls fn for every decodable summary registered in [from_ms, to_ms), newest first, while
    // fn returns true.
    void scan_by_time(const ReadTxn& t, uint64_t from_ms, uint64_t to_ms,
                      const std::function<bool(const DocSummary&)>& fn) const;
    std::vector<DocSummary> search(const ReadTxn& t, const DocFilter& f, uint64_t now_ms) const;
    bool accepts(const ReadTxn& t, const DocFilter& f, const DocSummary& d, uint64_t now_ms) const;

    MDB_dbi m_summary{}, m_by_time{}, m_terms{}, m_business{}, m_lifecycle{}, m_statuses{},
        m_status_msgs{};
    DocNumbers m_numbers;
};

}  // namespace lienthong::storage
