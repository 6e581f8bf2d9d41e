// Bindings for embedding: embedding(idx, weight), embeddingBackward(dout, idx, V).
#include "../native/dispatch/embedding.h"

#include <cmath>

#include "handle.h"
#include "registry.h"

namespace cg::bind {

namespace {

Napi::Value Embedding(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.embedding";
  return Handle::Wrap(info.Env(), dispatch::embedding_forward(Handle::Impl(info[0], op), Handle::Impl(info[1], op)));
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.embedding backward";
  double V = number_arg(info, 2, op, "V");
  if (!(std::trunc(V) == V && V >= 0 && V <= 9007199254740991.0))
    throw_range_error(op, ": V (the number of embeddings) must be a non-negative integer, got ", V);
  return Handle::Wrap(info.Env(), dispatch::embedding_backward(Handle::Impl(info[0], op), Handle::Impl(info[1], op),
                                                               static_cast<int64_t>(V)));
}

}  // namespace

CG_EXPORT("embedding", Embedding);
CG_EXPORT("embeddingBackward", EmbeddingBackward);

}  // namespace cg::bind
