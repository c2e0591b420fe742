// Result<T> and Status: how protocol/ and storage/ report failure without throwing.
//
// A Result holds either a value or an Error whose message says what failed and, where it
// can, what to do about it. Replace with std::expected once the toolchain has it.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace lienthong {

struct Error {
    std::string message;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

struct Unit {};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }

    // REQUIRES: ok()
    T& value() & { return std::get<0>(m_v); }
    const T& value() const& { return std::get<0>(m_v); }
    T&& value() && { return std::get<0>(std::move(m_v)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    // REQUIRES: !ok()
    const std::string& error() const { return std::get<1>(m_v).message; }
    Error take_error() const { return std::get<1>(m_v); }

private:
    std::variant<T, Error> m_v;
};

using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace lienthong

// Propagates the error of a Result-returning expression out of the enclosing function.
#define LT_TRY(expr)                                       \
    do {                                                   \
        auto lt_try_r_ = (expr);                           \
        if (!lt_try_r_.ok()) return lt_try_r_.take_error(); \
    } while (0)

#define LT_CONCAT_INNER(a, b) a##b
#define LT_CONCAT(a, b) LT_CONCAT_INNER(a, b)
// Declares `decl` from the value of a Result-returning expression, or returns its error.
#define LT_ASSIGN(decl, expr) LT_ASSIGN_IMPL(LT_CONCAT(lt_assign_r_, __LINE__), decl, expr)
#define LT_ASSIGN_IMPL(tmp, decl, expr)        \
    auto tmp = (expr);                         \
    if (!tmp.ok()) return tmp.take_error();    \
    decl = std::move(tmp).value()
