// Runs every registered native test and prints TAP.
#include <exception>

#include "harness.h"

int main() {
  int failed = 0, n = 0;
  std::printf("TAP version 14\n1..%zu\n", harness::cases().size());
  for (auto& c : harness::cases()) {
    ++n;
    try {
      c.fn();
      std::printf("ok %d - %s\n", n, c.name);
    } catch (const harness::Failure& f) {
      ++failed;
      std::printf("not ok %d - %s\n  # %s\n", n, c.name, f.what.c_str());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("not ok %d - %s\n  # unexpected exception: %s\n", n, c.name, e.what());
    }
  }
  return failed ? 1 : 0;
}
