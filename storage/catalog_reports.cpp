// Catalog: filtering (inbox/outbox queries, text search through the terms index) and the
// overdue and stats reports. Every definition of "pair", "latest code" and "owed" used here
// is written once, at the top of catalog.h.
#include <algorithm>
#include <set>

#include "protocol/textfold.h"
#include "storage/catalog.h"
#include "storage/store.h"

namespace lienthong::storage {

using protocol::as_bytes;

namespace {

constexpr uint64_t kDayMs = 86400000;

bool owed(const DocSummary& d, const Catalog::PairState& p, uint64_t now_ms) {
    return d.due_ms != 0 && d.due_ms < now_ms && !p.completed_ms && p.latest != "02" && !p.recalled;
}

bool newer_first(const DocSummary& a, const DocSummary& b) {
    if (a.registered_ms != b.registered_ms) return a.registered_ms > b.registered_ms;
    return a.id > b.id;  // as doc_by_time read backwards
}

}  // namespace

bool Catalog::accepts(const ReadTxn& t, const DocFilter& f, const DocSummary& d,
                      uint64_t now_ms) const {
    if (f.outgoing && *f.outgoing != d.outgoing) return false;
    if (!f.agency.empty() && d.sender != f.agency &&
        std::find(d.recipients.begin(), d.recipients.end(), f.agency) == d.recipients.end())
        return false;
    if (!f.type.empty() && d.type_code != f.type && d.type_name != f.type) return false;
    if (d.registered_ms < f.from_ms) return false;
    if (f.to_ms != 0 && d.registered_ms >= f.to_ms) return false;
    if (f.min_urgency && d.urgency < *f.min_urgency) return false;
    if (f.status.empty() && !f.overdue_only) return true;

    const auto ps = pairs(t, d);
    if (!f.status.empty()) {
        const std::string want = f.status == "none" ? std::string() : f.status;
        if (std::none_of(ps.begin(), ps.end(),
                         [&](const PairState& p) { return p.latest == want; }))
            return false;
    }
    if (f.overdue_only) {
        if (std::none_of(ps.begin(), ps.end(),
                         [&](const PairState& p) { return owed(d, p, now_ms); }))
            return false;
        if (revoked(t, d.id)) return false;
    }
    return true;
}

std::vector<DocSummary> Catalog::query(const ReadTxn& t, const DocFilter& f,
                                       uint64_t now_ms) const {
    if (!f.text.empty()) {
        auto folded = protocol::fold(f.text);
        if (!folded.ok()) return {};
        if (!protocol::search_terms(*folded).empty()) return search(t, f, now_ms);
    }
    std::vector<DocSummary> out;
    if (f.to_ms != 0 && f.to_ms <= f.from_ms) return out;
    scan_by_time(t, f.from_ms, f.to_ms, [&](const DocSummary& d) {
        if (accepts(t, f, d, now_ms)) out.push_back(d);
        return f.limit == 0 || out.size() < f.limit;
    });
    return out;
}

// Each query term selects, by a prefix scan of `terms`, the documents having a term that
// starts with it; the result is the intersection. Only those candidates' summaries are read.
std::vector<DocSummary> Catalog::search(const ReadTxn& t, const DocFilter& f,
                                        uint64_t now_ms) const {
    const std::string folded = *protocol::fold(f.text);  // REQUIRES (checked by query): valid
    auto terms = protocol::search_terms(folded);
    // Longest (most selective) first, so the candidate set shrinks early.
    std::stable_sort(terms.begin(), terms.end(),
                     [](const auto& a, const auto& b) { return a.size() > b.size(); });
    std::set<Hash32> candidates;
    bool first = true;
    for (const auto& term : terms) {
        std::set<Hash32> hits;
        t.scan_prefix(m_terms, as_bytes(term), [&](ByteView k, ByteView) {
            if (k.size() < 41 || k[k.size() - 41] != 0) return true;  // not a term key
            Hash32 id{};
            std::copy(k.end() - 32, k.end(), id.begin());
            if (first || candidates.count(id)) hits.insert(id);
            return true;
        });
        candidates = std::move(hits);
        first = false;
        if (candidates.empty()) return {};
    }
    std::vector<DocSummary> out;
    for (const auto& id : candidates) {
        auto d = summary(t, id);
        if (!d || !accepts(t, f, *d, now_ms)) continue;
        // The index may hold stale entries (see catalog.h); the stored subject decides.
        auto subject = protocol::fold(d->subject);
        if (!subject.ok() || !protocol::matches(*subject, folded)) continue;
        out.push_back(std::move(*d));
    }
    std::sort(out.begin(), out.end(), newer_first);
    if (f.limit != 0 && out.size() > f.limit) out.resize(f.limit);
    return out;
}

std::vector<OverdueItem> Catalog::overdue(const ReadTxn& t, bool outgoing, uint64_t now_ms) const {
    std::vector<OverdueItem> out;
    t.scan(m_summary, {}, [&](ByteView k, ByteView) {
        if (k.size() != 8 + 32) return true;
        Hash32 id{};
        std::copy(k.begin() + 8, k.end(), id.begin());
        auto d = summary(t, id);
        if (!d || d->outgoing != outgoing || d->due_ms == 0 || d->due_ms >= now_ms) return true;
        std::vector<OverdueItem> items;
        for (const auto& p : pairs(t, *d)) {
            if (!owed(*d, p, now_ms)) continue;
            OverdueItem item;
            item.id = d->id;
            item.agency = outgoing ? p.recipient : d->sender;
            item.subject = d->subject;
            item.document_id = d->document_id;
            item.due_ms = d->due_ms;
            item.days_overdue = (now_ms - d->due_ms) / kDayMs;
            item.last_code = p.latest;
            items.push_back(std::move(item));
        }
        if (!items.empty() && !revoked(t, d->id)) out.insert(out.end(), items.begin(), items.end());
        return true;
    });
    std::sort(out.begin(), out.end(), [](const OverdueItem& a, const OverdueItem& b) {
        if (a.days_overdue != b.days_overdue) return a.days_overdue > b.days_overdue;
        if (a.agency != b.agency) return a.agency < b.agency;
        if (a.due_ms != b.due_ms) return a.due_ms < b.due_ms;
        return a.id < b.id;
    });
    return out;
}

StatsReport Catalog::stats(const ReadTxn& t, uint64_t from_ms, uint64_t to_ms) const {
    StatsReport r;
    std::vector<uint64_t> completion_ms;
    if (to_ms != 0 && to_ms <= from_ms) return r;
    scan_by_time(t, from_ms, to_ms, [&](const DocSummary& d) {
        auto& type = r.by_type[d.type_name.empty() ? "(none)" : d.type_name];
        (d.outgoing ? type.sent : type.received) += 1;
        if (!d.outgoing) r.by_agency[d.sender].received += 1;
        for (const auto& p : pairs(t, d)) {
            if (d.outgoing) r.by_agency[p.recipient].sent += 1;
            r.status_distribution[p.latest.empty() ? "none" : p.latest] += 1;
            if (p.completed_ms) r.completed += 1;
            if (d.due_ms != 0) {
                r.with_due += 1;
                if (p.completed_ms && *p.completed_ms <= d.due_ms) r.completed_on_time += 1;
            }
            if (p.arrived_ms && p.completed_ms)
                completion_ms.push_back(
                    *p.completed_ms >= *p.arrived_ms ? *p.completed_ms - *p.arrived_ms : 0);
        }
        return true;
    });
    if (r.with_due != 0)
        r.on_time_rate = static_cast<double>(r.completed_on_time) / static_cast<double>(r.with_due);
    if (!completion_ms.empty()) {
        std::sort(completion_ms.begin(), completion_ms.end());
        r.median_completion_ms = completion_ms[(completion_ms.size() - 1) / 2];
    }
    return r;
}

}  // namespace lienthong::storage
