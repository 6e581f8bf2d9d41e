// Handle: the JS object that owns one native TensorImpl. lib/tensor.ts wraps
// it; dispose() releases it at once, otherwise GC does.
#pragma once

#include <napi.h>

#include "../native/runtime/tensor.h"
#include "convert.h"

namespace cg::bind {

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object Wrap(Napi::Env env, TensorPtr impl);
  // The TensorImpl behind a JS handle argument; throws TypeError naming `op` if
  // the value is not a handle or was disposed.
  static const TensorImpl& Impl(const Napi::Value& v, const char* op);

  explicit Handle(const Napi::CallbackInfo& info);

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DType(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value ToArray(const Napi::CallbackInfo& info);
  Napi::Value Data(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Reshape(const Napi::CallbackInfo& info);

  const TensorImpl& live(const char* op) const;

  // Registered methods: C++ exceptions become JS errors.
  template <Napi::Value (Handle::*M)(const Napi::CallbackInfo&)>
  Napi::Value Guarded(const Napi::CallbackInfo& info) {
    try {
      return (this->*M)(info);
    } catch (...) {
      rethrow_as_js(info.Env());
    }
  }

  TensorPtr impl_;
};

}  // namespace cg::bind
