// Module entry: exports the Handle class and every CG_EXPORT function.
#include <napi.h>

#include "convert.h"
#include "handle.h"
#include "registry.h"

namespace cg::bind {

std::vector<Export>& exports_list() {
  static std::vector<Export> list;
  return list;
}

void CheckEnvironment();

}  // namespace cg::bind

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  try {
    cg::bind::CheckEnvironment();
    cg::bind::Handle::Init(env, exports);
    for (const cg::bind::Export& e : cg::bind::exports_list()) exports.Set(e.name, e.make(env));
  } catch (...) {
    cg::bind::rethrow_as_js(env);
  }
  return exports;
}

}  // namespace

NODE_API_MODULE(cudagrad, Init)
