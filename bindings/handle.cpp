// Handle (bindings/handle.h): tensor accessors, host copies (sync and async),
// device moves and reshapes.
#include "handle.h"

#include <cstring>

#include "../native/dispatch/creation.h"
#include "convert.h"

namespace cg::bind {

namespace {

struct AddonData {
  Napi::FunctionReference handle_ctor;
};

// Reads a CUDA snapshot into an ArrayBuffer on a worker thread, then resolves.
class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, TensorPtr snapshot)
      : Napi::AsyncWorker(env, "cudagrad.data"), snapshot_(std::move(snapshot)), deferred_(Napi::Promise::Deferred::New(env)) {
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, snapshot_->nbytes());
    dst_ = buf.Data();
    buffer_ = Napi::Persistent(buf);
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      dispatch::copy_to_host("Tensor.data", *snapshot_, dst_, snapshot_->nbytes());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    deferred_.Resolve(typed_array(env, buffer_.Value(), snapshot_->dtype(), static_cast<size_t>(snapshot_->numel())));
    snapshot_.reset();
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(e.Value());
    snapshot_.reset();
  }

 private:
  TensorPtr snapshot_;
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  void* dst_ = nullptr;
};

}  // namespace

void Handle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Handle",
                                    {
                                        InstanceMethod<&Handle::Guarded<&Handle::Shape>>("shape"),
                                        InstanceMethod<&Handle::Guarded<&Handle::DType>>("dtype"),
                                        InstanceMethod<&Handle::Guarded<&Handle::Device>>("device"),
                                        InstanceMethod<&Handle::Guarded<&Handle::Disposed>>("disposed"),
                                        InstanceMethod<&Handle::Guarded<&Handle::Dispose>>("dispose"),
                                        InstanceMethod<&Handle::Guarded<&Handle::ToArray>>("toArray"),
                                        InstanceMethod<&Handle::Guarded<&Handle::Data>>("data"),
                                        InstanceMethod<&Handle::Guarded<&Handle::To>>("to"),
                                        InstanceMethod<&Handle::Guarded<&Handle::Reshape>>("reshape"),
                                    });
  auto* data = new AddonData{Napi::Persistent(ctor)};
  env.SetInstanceData(data);
  exports.Set("Handle", ctor);
}

namespace {
// The TensorImpl that Wrap() hands to the constructor it is calling (set just
// before, taken by the constructor). Not an External argument: node-api makes
// each External a global handle, a measurable cost on every op's output.
thread_local TensorImpl* pending_impl = nullptr;
}  // namespace

Handle::Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {
  // Only Wrap() may construct a handle.
  if (!pending_impl)
    throw Napi::TypeError::New(info.Env(), "cudagrad: Handle cannot be constructed from JS; use cudagrad.tensor()");
  impl_.reset(pending_impl);
  pending_impl = nullptr;
}

Napi::Object Handle::Wrap(Napi::Env env, TensorPtr impl) {
  auto* data = env.GetInstanceData<AddonData>();
  pending_impl = impl.get();
  Napi::Object obj;
  try {
    obj = data->handle_ctor.New({});
  } catch (...) {
    if (!pending_impl) impl.release();  // the constructor took it before the failure
    pending_impl = nullptr;
    throw;
  }
  impl.release();  // now owned by the Handle
  return obj;
}

const TensorImpl& Handle::Impl(const Napi::Value& v, const char* op) {
  auto* data = v.Env().GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->handle_ctor.Value()))
    throw_type_error(op, ": expected a tensor");
  return Napi::ObjectWrap<Handle>::Unwrap(v.As<Napi::Object>())->live(op);
}

const TensorImpl& Handle::live(const char* op) const {
  if (!impl_) throw_type_error(op, ": tensor was disposed");
  return *impl_;
}

Napi::Value Handle::Shape(const Napi::CallbackInfo& info) { return shape_value(info.Env(), live("Tensor.shape").shape()); }

Napi::Value Handle::DType(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtype_name(live("Tensor.dtype").dtype()));
}

Napi::Value Handle::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), live("Tensor.device").device().str());
}

Napi::Value Handle::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !impl_); }

Napi::Value Handle::Dispose(const Napi::CallbackInfo& info) {
  impl_.reset();
  return info.Env().Undefined();
}

// What the host reads for `t`: bfloat16 as float32 (exact; a converted copy
// in new storage), other dtypes as they are (null: read `t` itself).
static TensorPtr host_readable(const char* op, const TensorImpl& t) {
  return t.dtype() == DType::BFloat16 ? dispatch::cast(op, t, DType::Float32) : nullptr;
}

Napi::Value Handle::ToArray(const Napi::CallbackInfo& info) {
  const TensorImpl& live_t = live("Tensor.toArray");
  TensorPtr converted = host_readable("Tensor.toArray", live_t);
  const TensorImpl& t = converted ? *converted : live_t;
  Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(info.Env(), t.nbytes());
  dispatch::copy_to_host("Tensor.toArray", t, buf.Data(), t.nbytes());
  return typed_array(info.Env(), buf, t.dtype(), static_cast<size_t>(t.numel()));
}

Napi::Value Handle::Data(const Napi::CallbackInfo& info) {
  const TensorImpl& t = live("Tensor.data");
  Napi::Env env = info.Env();
  if (t.device().is_cpu()) {
    auto deferred = Napi::Promise::Deferred::New(env);
    deferred.Resolve(ToArray(info));
    return deferred.Promise();
  }
  // Snapshot on the device's stream now (ordered before later ops), read it on a worker thread.
  TensorPtr snapshot = host_readable("Tensor.data", t);
  auto* worker = new ReadWorker(env, snapshot ? std::move(snapshot) : dispatch::clone("Tensor.data", t));
  Napi::Promise p = worker->promise();
  worker->Queue();
  return p;
}

Napi::Value Handle::To(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Wrap(env, dispatch::to_device("Tensor.to", live("Tensor.to"), device_arg(info, 0, "Tensor.to")));
}

Napi::Value Handle::Reshape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Wrap(env, dispatch::reshape("Tensor.reshape", live("Tensor.reshape"), shape_arg(info, 0, "Tensor.reshape")));
}

}  // namespace cg::bind
