// Module entry: the flat export list of the native addon.
#include <napi.h>

#include "convert.h"
#include "handle.h"

namespace cg::bind {
void InitCreation(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
}  // namespace cg::bind

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  try {
    cg::bind::Handle::Init(env, exports);
    cg::bind::InitCreation(env, exports);
    cg::bind::InitRuntime(env, exports);
  } catch (...) {
    cg::bind::rethrow_as_js(env);
  }
  return exports;
}

}  // namespace

NODE_API_MODULE(cudagrad, Init)
