// Self-registering exports: each bindings/*.cpp declares its functions with
// CG_EXPORT("name", Fn) at namespace scope, and the module's Init exports them
// all (C++ exceptions of Fn surface as JS errors). No shared list to edit.
#pragma once

#include <napi.h>

#include <vector>

#include "convert.h"

namespace cg::bind {

struct Export {
  const char* name;
  Napi::Function (*make)(Napi::Env env);
};

std::vector<Export>& exports_list();

struct Registrar {
  explicit Registrar(Export e) { exports_list().push_back(e); }
};

}  // namespace cg::bind

#define CG_EXPORT_CAT2(a, b) a##b
#define CG_EXPORT_CAT(a, b) CG_EXPORT_CAT2(a, b)
#define CG_EXPORT(js_name, fn)                                                                     \
  static ::cg::bind::Registrar CG_EXPORT_CAT(cg_export_, __LINE__)(::cg::bind::Export{             \
      js_name, [](Napi::Env env) { return Napi::Function::New<::cg::bind::guarded<fn>>(env, js_name); }})
