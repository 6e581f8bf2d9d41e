// Bindings for the runtime: devices, CUDA status, memory, threads, SIMD, RNG state.
#include "../native/runtime/cpu_allocator.h"
#include "../native/runtime/cpu_features.h"
#include "../native/runtime/gpu.h"
#include "../native/runtime/precision.h"
#include "../native/runtime/rng.h"
#include "../native/runtime/storage.h"
#include "../native/runtime/thread_pool.h"
#include "convert.h"
#include "registry.h"

namespace cg::bind {

namespace {

// {threads, simd, simdDetected, cuda: [{index, name, major, minor, totalMemory, multiprocessors}]}
Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("threads", num_threads());
  out.Set("simd", simd_name(simd_level()));
  out.Set("simdDetected", simd_name(simd_detected()));
  std::vector<gpu::DeviceInfo> infos = gpu::device_infos();
  Napi::Array cuda = Napi::Array::New(env, infos.size());
  for (size_t i = 0; i < infos.size(); ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", infos[i].index);
    d.Set("name", infos[i].name);
    d.Set("major", infos[i].major);
    d.Set("minor", infos[i].minor);
    d.Set("totalMemory", static_cast<double>(infos[i].total_memory));
    d.Set("multiprocessors", infos[i].multiprocessors);
    cuda.Set(static_cast<uint32_t>(i), d);
  }
  out.Set("cuda", cuda);
  return out;
}

Napi::Value CudaStatus(const Napi::CallbackInfo& info) {
  const gpu::Status& s = gpu::status();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("compiled", s.compiled);
  out.Set("available", s.available);
  out.Set("deviceCount", s.device_count);
  out.Set("reason", s.reason);
  out.Set("runtime", s.runtime);
  return out;
}

Napi::Object stats_value(Napi::Env env, const MemoryStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tensors", static_cast<double>(s.tensors));
  o.Set("storages", static_cast<double>(s.storages));
  o.Set("bytes", static_cast<double>(s.bytes));
  return o;
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Object cpu = stats_value(env, memory_stats(DeviceType::CPU));
  cpu.Set("cached", static_cast<double>(cpu_alloc::cached_bytes()));
  out.Set("cpu", cpu);
  Napi::Object cuda = stats_value(env, memory_stats(DeviceType::CUDA));
  double reserved = 0;
  for (int d = 0; d < gpu::status().device_count; ++d) reserved += static_cast<double>(gpu::reserved_bytes(d));
  cuda.Set("reserved", reserved);
  out.Set("cuda", cuda);
  return out;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  double n = number_arg(info, 0, "cudagrad.setNumThreads", "n");
  if (!(n >= 1 && n <= 1024) || n != static_cast<int>(n))
    throw_range_error("cudagrad.setNumThreads: ", n, " is not a thread count between 1 and 1024");
  set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

Napi::Value SetSimdLevel(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.setSimdLevel";
  set_simd_level(parse_simd(string_arg(info, 0, op, "level"), op));
  return info.Env().Undefined();
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  cpu_alloc::empty_cache();
  gpu::empty_cache();
  return info.Env().Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.cuda.synchronize";
  double d = number_arg(info, 0, op, "device index");
  gpu::require_device(static_cast<int>(d), op);
  gpu::synchronize(static_cast<int>(d));
  return info.Env().Undefined();
}

Napi::Value HostSyncs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(gpu::host_syncs()));
}

// {simt, mma, wgmma}: GEMM launches per kernel path since load.
Napi::Value GemmLaunchCounts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  gpu::GemmLaunches n = gpu::gemm_launches();
  Napi::Object o = Napi::Object::New(env);
  o.Set("simt", Napi::Number::New(env, static_cast<double>(n.simt)));
  o.Set("mma", Napi::Number::New(env, static_cast<double>(n.mma)));
  o.Set("wgmma", Napi::Number::New(env, static_cast<double>(n.wgmma)));
  return o;
}

// {general, simt, mma, mmaBf16}: attention calls per kernel path since load.
Napi::Value AttentionLaunchCounts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  gpu::AttentionLaunches n = gpu::attention_launches();
  Napi::Object o = Napi::Object::New(env);
  o.Set("general", Napi::Number::New(env, static_cast<double>(n.general)));
  o.Set("simt", Napi::Number::New(env, static_cast<double>(n.simt)));
  o.Set("mma", Napi::Number::New(env, static_cast<double>(n.mma)));
  o.Set("mmaBf16", Napi::Number::New(env, static_cast<double>(n.mma_bf16)));
  return o;
}

Napi::Value GemmWgmmaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), gpu::gemm_wgmma_available());
}

Napi::Value RngState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  rng::State s = rng::get_state();
  Napi::Object o = Napi::Object::New(env);
  o.Set("seed", Napi::BigInt::New(env, s.seed));
  o.Set("offset", Napi::BigInt::New(env, s.offset));
  return o;
}

// setRngState(seed, offset)
Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.setRngState";
  rng::set_state(rng::State{u64_arg(info, 0, op, "seed"), u64_arg(info, 1, op, "offset")});
  return info.Env().Undefined();
}

Napi::Value SetMatmulPrecision(const Napi::CallbackInfo& info) {
  const char* op = "cudagrad.setMatmulPrecision";
  std::string s = string_arg(info, 0, op, "precision");
  if (s == "highest") set_matmul_precision(MatmulPrecision::Highest);
  else if (s == "high") set_matmul_precision(MatmulPrecision::High);
  else if (s == "medium") set_matmul_precision(MatmulPrecision::Medium);
  else throw_type_error(op, ": unknown precision '", s, "' (expected 'highest', 'high' or 'medium')");
  return info.Env().Undefined();
}

Napi::Value SetDeterministic(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean())
    throw_type_error("cudagrad.setDeterministic: expected a boolean, got ", info.Length() ? "another type" : "nothing");
  set_deterministic(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value DeterministicValue(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), deterministic()); }

Napi::Value MatmulPrecisionValue(const Napi::CallbackInfo& info) {
  static const char* names[] = {"highest", "high", "medium"};
  return Napi::String::New(info.Env(), names[static_cast<int>(matmul_precision())]);
}

}  // namespace

CG_EXPORT("setMatmulPrecision", SetMatmulPrecision);
CG_EXPORT("matmulPrecision", MatmulPrecisionValue);
CG_EXPORT("setDeterministic", SetDeterministic);
CG_EXPORT("deterministic", DeterministicValue);
CG_EXPORT("devices", Devices);
CG_EXPORT("cudaStatus", CudaStatus);
CG_EXPORT("memory", Memory);
CG_EXPORT("setNumThreads", SetNumThreads);
CG_EXPORT("numThreads", NumThreads);
CG_EXPORT("setSimdLevel", SetSimdLevel);
CG_EXPORT("emptyCache", EmptyCache);
CG_EXPORT("synchronize", Synchronize);
CG_EXPORT("hostSyncs", HostSyncs);
CG_EXPORT("gemmLaunches", GemmLaunchCounts);
CG_EXPORT("gemmWgmmaAvailable", GemmWgmmaAvailable);
CG_EXPORT("attentionLaunches", AttentionLaunchCounts);
CG_EXPORT("rngState", RngState);
CG_EXPORT("setRngState", SetRngState);

// Read the environment overrides at load, so a bad CUDAGRAD_SIMD / CUDAGRAD_NUM_THREADS fails there.
void CheckEnvironment() {
  simd_level();
  num_threads();
}

}  // namespace cg::bind
