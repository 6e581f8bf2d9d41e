// A tiny test harness for the native unit tests: each TEST prints one TAP
// line ("ok N - name" / "not ok N - name" with the failed check), and main()
// exits non-zero when any test failed. test/native.test.ts runs the binary.
#pragma once

#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace harness {

struct Case {
  const char* name;
  std::function<void()> fn;
};

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

struct Failure {
  std::string what;
};

struct Register {
  Register(const char* name, std::function<void()> fn) { cases().push_back({name, std::move(fn)}); }
};

}  // namespace harness

#define TEST(name)                                                  \
  static void test_##name();                                        \
  static harness::Register register_##name(#name, test_##name);    \
  static void test_##name()

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::ostringstream os_;                                                               \
      os_ << __FILE__ << ":" << __LINE__ << ": CHECK(" #cond ") failed";                    \
      throw harness::Failure{os_.str()};                                                    \
    }                                                                                       \
  } while (0)

#define CHECK_EQ(a, b)                                                                      \
  do {                                                                                      \
    auto a_ = (a);                                                                          \
    auto b_ = (b);                                                                          \
    if (!(a_ == b_)) {                                                                      \
      std::ostringstream os_;                                                               \
      os_ << __FILE__ << ":" << __LINE__ << ": " #a " == " #b " failed: " << a_ << " vs " << b_; \
      throw harness::Failure{os_.str()};                                                    \
    }                                                                                       \
  } while (0)

// The expression must throw cg::Error of `kind` whose message contains `needle`.
#define CHECK_THROWS(expr, want_kind, needle)                                                    \
  do {                                                                                      \
    bool thrown_ = false;                                                                   \
    try {                                                                                   \
      expr;                                                                                 \
    } catch (const cg::Error& e_) {                                                         \
      thrown_ = true;                                                                       \
      std::string m_ = e_.what();                                                           \
      if (e_.kind() != (want_kind) || m_.find(needle) == std::string::npos) {                    \
        std::ostringstream os_;                                                             \
        os_ << __FILE__ << ":" << __LINE__ << ": wrong error from " #expr ": " << m_;       \
        throw harness::Failure{os_.str()};                                                  \
      }                                                                                     \
    }                                                                                       \
    if (!thrown_) {                                                                         \
      std::ostringstream os_;                                                               \
      os_ << __FILE__ << ":" << __LINE__ << ": " #expr " did not throw";                    \
      throw harness::Failure{os_.str()};                                                    \
    }                                                                                       \
  } while (0)
