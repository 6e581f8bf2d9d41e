// Runs every registered native test and prints TAP. Tests named planted_*
// demonstrate a bug the emulator must stop (the process dies): they run only
// when named, `cudagrad_native_test planted_name`, and test/native.test.ts
// checks that they fail.
#include <cstring>
#include <exception>
#include <vector>

#include "harness.h"

int main(int argc, char** argv) {
  int failed = 0, n = 0;
  std::vector<harness::Case*> run;
  for (auto& c : harness::cases()) {
    const bool planted = std::strncmp(c.name, "planted_", 8) == 0;
    if (argc > 1 ? std::strcmp(c.name, argv[1]) == 0 : !planted) run.push_back(&c);
  }
  std::printf("TAP version 14\n1..%zu\n", run.size());
  std::fflush(stdout);
  for (auto* cp : run) {
    auto& c = *cp;
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
