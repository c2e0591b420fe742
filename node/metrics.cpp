#include "node/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lienthong::node {

Histogram::Histogram(std::vector<double> bounds) : m_bounds(std::move(bounds)), m_counts(m_bounds.size() + 1, 0) {}

void Histogram::observe(double v) {
    const auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), v);
    ++m_counts[static_cast<size_t>(it - m_bounds.begin())];
    m_sum += v;
    ++m_count;
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char ch : v) {
        if (ch == '\\') out += "\\\\";
        else if (ch == '"') out += "\\\"";
        else if (ch == '\n') out += "\\n";
        else out += ch;
    }
    return out;
}

std::string format_sample_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15)
        std::snprintf(buf, sizeof buf, "%.0f", v);
    else
        std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

void PromText::family(std::string_view name, std::string_view type, std::string_view help) {
    m_text.append("# HELP ").append(name).append(" ").append(help).append("\n");
    m_text.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PromText::write_labels(const Labels& labels, std::string_view extra_name, std::string_view extra_value) {
    if (labels.empty() && extra_name.empty()) return;
    m_text += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) m_text += ',';
        first = false;
        m_text.append(k).append("=\"").append(escape_label_value(v)).append("\"");
    }
    if (!extra_name.empty()) {
        if (!first) m_text += ',';
        m_text.append(extra_name).append("=\"").append(extra_value).append("\"");
    }
    m_text += '}';
}

void PromText::sample(std::string_view name, const Labels& labels, double value) {
    m_text.append(name);
    write_labels(labels);
    m_text.append(" ").append(format_sample_value(value)).append("\n");
}

void PromText::histogram(std::string_view name, const Labels& labels, const Histogram& h) {
    uint64_t cumulative = 0;
    const std::string bucket = std::string(name) + "_bucket";
    for (size_t i = 0; i <= h.bounds().size(); ++i) {
        cumulative += h.counts()[i];
        const std::string le = i < h.bounds().size() ? format_sample_value(h.bounds()[i]) : "+Inf";
        m_text.append(bucket);
        write_labels(labels, "le", le);
        m_text.append(" ").append(std::to_string(cumulative)).append("\n");
    }
    sample(std::string(name) + "_sum", labels, h.sum());
    sample(std::string(name) + "_count", labels, static_cast<double>(h.count()));
}

}  // namespace lienthong::node
