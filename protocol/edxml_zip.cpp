// Unzipping with libzip, reading from memory: nothing touches the filesystem.
#include "protocol/edxml_zip.h"

#include <zip.h>

#include <algorithm>
#include <memory>

namespace lienthong::protocol::edxml {

namespace {
struct ArchiveClose {
    void operator()(zip_t* z) const { zip_discard(z); }  // read-only: nothing to write back
};
struct FileClose {
    void operator()(zip_file_t* f) const { zip_fclose(f); }
};

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    return out;
}
}  // namespace

bool is_zip(ByteView data) {
    return data.size() >= 4 && data[0] == 'P' && data[1] == 'K' && data[2] == 3 && data[3] == 4;
}

bool is_library_zipped(std::string_view mime, std::string_view name, ByteView data) {
    if (!is_zip(data)) return false;
    const std::string m = lower(mime), n = lower(name);
    const bool says_zip = m == "application/zip" || m == "application/x-zip-compressed" ||
                          m == "application/x-zip" || (n.size() >= 4 && n.compare(n.size() - 4, 4, ".zip") == 0);
    return !says_zip;
}

Result<Bytes> unzip_part(ByteView zip, size_t max_bytes) {
    if (!is_zip(zip)) return make_error("the part is not a zip archive");
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t* src = zip_source_buffer_create(zip.data(), zip.size(), 0, &err);
    if (!src) {
        std::string why = zip_error_strerror(&err);
        zip_error_fini(&err);
        return make_error("cannot read the zip: " + why);
    }
    std::unique_ptr<zip_t, ArchiveClose> archive(zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err));
    if (!archive) {
        zip_source_free(src);  // still ours when the open failed
        std::string why = zip_error_strerror(&err);
        zip_error_fini(&err);
        return make_error("the zip is damaged: " + why);
    }
    zip_error_fini(&err);
    const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
    if (entries != 1)
        return make_error("the zip holds " + std::to_string(entries) + " entries; a zipped attachment holds one file");
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive.get(), 0, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return make_error("the zip's entry cannot be read: " + std::string(zip_strerror(archive.get())));
    if (st.size > max_bytes)
        return make_error("the zipped file is " + std::to_string(st.size) + " bytes, above the limit of " +
                          std::to_string(max_bytes));
    std::unique_ptr<zip_file_t, FileClose> file(zip_fopen_index(archive.get(), 0, 0));
    if (!file) return make_error("the zip's entry cannot be opened: " + std::string(zip_strerror(archive.get())));
    Bytes out(static_cast<size_t>(st.size));
    size_t got = 0;
    // The declared size bounds the buffer; a stream that inflates to more is refused below.
    while (got < out.size()) {
        const zip_int64_t n = zip_fread(file.get(), out.data() + got, out.size() - got);
        if (n < 0) return make_error("the zip's entry is damaged: " + std::string(zip_file_strerror(file.get())));
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    uint8_t extra = 0;
    if (got != out.size() || zip_fread(file.get(), &extra, 1) != 0)
        return make_error("the zip's entry does not inflate to its declared size");
    return out;
}

}  // namespace lienthong::protocol::edxml
