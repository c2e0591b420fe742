#include "protocol/bytes.h"

#include <sodium.h>

namespace lienthong::protocol {

std::string to_hex(ByteView b) {
    std::string out(b.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), b.data(), b.size());
    out.pop_back();
    return out;
}

Result<Bytes> from_hex(std::string_view hex) {
    Bytes out(hex.size() / 2 + 1);
    size_t len = 0;
    const char* end = nullptr;
    if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
        end != hex.data() + hex.size())
        return make_error("not a hexadecimal value: '" + std::string(hex.substr(0, 80)) + "'");
    out.resize(len);
    return out;
}

std::string to_base64(ByteView b) {
    constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string out(sodium_base64_encoded_len(b.size(), kVariant), '\0');
    sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), kVariant);
    out.resize(out.size() - 1);
    return out;
}

Result<Bytes> from_base64(std::string_view text) {
    constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    Bytes out(text.size() * 3 / 4 + 3);
    size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                          kVariant) != 0 ||
        end != text.data() + text.size())
        return make_error("not a base64 value: '" + std::string(text.substr(0, 80)) + "'");
    out.resize(len);
    return out;
}

Hash32 hash_domain(std::string_view domain, ByteView data) {
    Hash32 out{};
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, out.size());
    crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
    const uint8_t sep = 0;
    crypto_generichash_update(&st, &sep, 1);
    crypto_generichash_update(&st, data.data(), data.size());
    crypto_generichash_final(&st, out.data(), out.size());
    return out;
}

bool is_valid_utf8(std::string_view s) {
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        const auto c = static_cast<uint8_t>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t extra = 0;
        uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= extra; ++k) {
            if (i + k >= n) return false;
            const auto cc = static_cast<uint8_t>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
        if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += extra + 1;
    }
    return true;
}

}  // namespace lienthong::protocol
