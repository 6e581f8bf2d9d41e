// Devices: the CPU, or CUDA device N. Printed as "cpu", "cuda", "cuda:N".
#pragma once

#include <string>

#include "error.h"

namespace cg {

enum class DeviceType : int { CPU = 0, CUDA = 1 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }

  std::string str() const {
    if (is_cpu()) return "cpu";
    return index == 0 ? std::string("cuda") : cat("cuda:", index);
  }
};

// "cpu", "cuda", "cuda:N"; anything else is a TypeError naming `op`.
inline Device parse_device(const std::string& s, const char* op) {
  if (s == "cpu") return {DeviceType::CPU, 0};
  if (s == "cuda") return {DeviceType::CUDA, 0};
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5 && s.size() < 9) {
    int idx = 0;
    for (size_t i = 5; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') idx = -1;
      if (idx < 0) break;
      idx = idx * 10 + (s[i] - '0');
    }
    if (idx >= 0) return {DeviceType::CUDA, idx};
  }
  throw_type_error(op, ": unknown device '", s, "' (expected 'cpu', 'cuda' or 'cuda:N')");
}

}  // namespace cg
