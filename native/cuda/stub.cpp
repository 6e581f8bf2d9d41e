// Built when nvcc is not found: the CUDA runtime reports plainly that this
// addon has no CUDA support; gpu::status() says so without throwing, so the
// addon loads and runs on the CPU. (Dispatch references no cuda:: op in such
// builds: see dispatch/on_device.h.)
#include "../runtime/error.h"
#include "../runtime/gpu.h"

namespace cg {

namespace {
const char* kNoCuda = "cudagrad was built without CUDA (nvcc was not found at build time)";
[[noreturn]] void no_cuda(const char* op) { throw_error(op, ": ", kNoCuda); }
}  // namespace

namespace gpu {
const Status& status() {
  static const Status s = [] {
    Status st;
    st.reason = kNoCuda;
    st.runtime = "none";
    return st;
  }();
  return s;
}
std::vector<DeviceInfo> device_infos() { return {}; }
void require_device(int, const char* op) { throw_error(op, ": CUDA is not available: ", kNoCuda); }
void set_device(int) { no_cuda("cudagrad"); }
void* current_stream() { no_cuda("cudagrad"); }
void* alloc(int, size_t) { no_cuda("cudagrad"); }
void free(int, void*, size_t) {}
size_t reserved_bytes(int) { return 0; }
void empty_cache() {}
void copy_h2d(int, void*, const void*, size_t) { no_cuda("copy to cuda"); }
void copy_d2h(int, void*, const void*, size_t) { no_cuda("copy to cpu"); }
void copy_d2d(int, void*, const void*, size_t) { no_cuda("copy on cuda"); }
void synchronize(int) { no_cuda("cudagrad.cuda.synchronize"); }
uint64_t host_syncs() { return 0; }
void note_host_sync() {}
GemmLaunches gemm_launches() { return {}; }
AttentionLaunches attention_launches() { return {}; }
bool gemm_wgmma_available() { return false; }
void check_last_launch(const char* op) { no_cuda(op); }
DeviceErrorRecord* device_error_record() { no_cuda("cudagrad"); }
const char* device_error_op_name(DeviceErrorOp) { return "cudagrad"; }
}  // namespace gpu


}  // namespace cg
