// Errors raised by native code. Every failure the user can cause becomes a
// cg::Error carrying the JS error class it should surface as; the bindings
// turn it into a TypeError / RangeError / Error. Native code never aborts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>
#include <cstdint>

namespace cg {

enum class ErrorKind { Error, TypeError, RangeError };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// cat("a", 1, "b") -> "a1b". Only strings (the op names that dispatch builds
// on every call): plain appends -- an ostringstream costs a locale set-up and
// allocations, a measurable share of a small op.
template <typename... Args>
std::string cat(const Args&... args) {
  if constexpr ((std::is_convertible_v<const Args&, std::string_view> && ...)) {
    std::string s;
    s.reserve((std::string_view(args).size() + ... + size_t(0)));
    (s.append(std::string_view(args)), ...);
    return s;
  } else {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
  }
}

// "[2, 3]"
inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

template <typename... Args>
[[noreturn]] void throw_type_error(const Args&... args) {
  throw Error(ErrorKind::TypeError, cat(args...));
}
template <typename... Args>
[[noreturn]] void throw_range_error(const Args&... args) {
  throw Error(ErrorKind::RangeError, cat(args...));
}
template <typename... Args>
[[noreturn]] void throw_error(const Args&... args) {
  throw Error(ErrorKind::Error, cat(args...));
}

}  // namespace cg
