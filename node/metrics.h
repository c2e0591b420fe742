// Metrics in the Prometheus text exposition format (version 0.0.4), as `promtool check
// metrics` reads it: each family once, its # HELP and # TYPE lines first, then its samples;
// label values escaped (\\, \", \n); counters named *_total; histograms as cumulative
// *_bucket{le=…} samples ending with le="+Inf", then *_sum and *_count.
//
// The event loop renders the page (NodeImpl::render_metrics) and hands it to the HTTP thread
// (http_service.h); nothing here is shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lienthong::node {

// Observations counted into fixed buckets (upper bounds, ascending).
class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double v);
    const std::vector<double>& bounds() const { return m_bounds; }
    // Per bucket, the observations <= its bound and > the previous one; the last is +Inf.
    const std::vector<uint64_t>& counts() const { return m_counts; }
    double sum() const { return m_sum; }
    uint64_t count() const { return m_count; }

private:
    std::vector<double> m_bounds;
    std::vector<uint64_t> m_counts;
    double m_sum = 0;
    uint64_t m_count = 0;
};

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

class PromText {
public:
    // Starts a family: type is "counter", "gauge" or "histogram".
    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, const Labels& labels, double value);
    void histogram(std::string_view name, const Labels& labels, const Histogram& h);
    const std::string& text() const { return m_text; }

private:
    void write_labels(const Labels& labels, std::string_view extra_name = {}, std::string_view extra_value = {});
    std::string m_text;
};

// A label value as the format needs it: backslash, double quote and line feed escaped.
std::string escape_label_value(std::string_view v);
// A sample value: integers without a fraction, +Inf/-Inf/NaN spelled as the format does.
std::string format_sample_value(double v);

}  // namespace lienthong::node
