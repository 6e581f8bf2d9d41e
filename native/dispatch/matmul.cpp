// Matmul / linear / raw GEMM dispatch (dispatch/matmul.h).
#include "matmul.h"

#include <string>
#include <vector>

#include "check.h"
#include "creation.h"
#include "on_device.h"

namespace cg::dispatch {

namespace {

// One GEMM shape: C (M, N) = op(A) @ op(B), dense leading dimensions.
struct Mm {
  bool ta, tb;
  int64_t M, N, K;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
};

// Batch iteration space: per dimension, its size and the element strides of A, B and C.
// A stride of 0 broadcasts (A, B) or sums (C) over that dimension.
struct Loop {
  std::vector<int64_t> size, sa, sb, sc;
  int64_t count() const {
    int64_t n = 1;
    for (int64_t s : size) n *= s;
    return n;
  }
};

// Runs every GEMM of the loop: C slots hit by several batch indices get the sum (beta = 0 on
// the first, 1 after). Loop sizes must be > 0. Adjacent dims with compatible strides merge;
// the innermost merged dim becomes one strided-batch call, or folds into M (B broadcast,
// A and C contiguous) or K (C summed, A^T and B contiguous): one bigger GEMM.
void run_batched([[maybe_unused]] const char* op, Device dev, Mm g, const Loop& in, const Epilogue& ep) {
  Loop l;
  for (size_t d = 0; d < in.size.size(); ++d) {
    if (in.size[d] == 1) continue;
    size_t e = l.size.size();
    if (e > 0 && l.sa[e - 1] == in.sa[d] * in.size[d] && l.sb[e - 1] == in.sb[d] * in.size[d] &&
        l.sc[e - 1] == in.sc[d] * in.size[d]) {
      l.size[e - 1] *= in.size[d];
      l.sa[e - 1] = in.sa[d];
      l.sb[e - 1] = in.sb[d];
      l.sc[e - 1] = in.sc[d];
      continue;
    }
    l.size.push_back(in.size[d]);
    l.sa.push_back(in.sa[d]);
    l.sb.push_back(in.sb[d]);
    l.sc.push_back(in.sc[d]);
  }
  int64_t batch = 1, sa = 0, sb = 0, sc = 0;
  if (!l.size.empty()) {
    size_t d = l.size.size() - 1;
    bool fold_m = l.sb[d] == 0 && !g.ta && l.sa[d] == g.M * g.lda && l.sc[d] == g.M * g.ldc;
    bool fold_k = l.sc[d] == 0 && g.ta && !g.tb && l.sa[d] == g.K * g.lda && l.sb[d] == g.K * g.ldb;
    if (fold_m) g.M *= l.size[d];
    if (fold_k) g.K *= l.size[d];
    if (!fold_m && !fold_k && l.sc[d] != 0) {
      batch = l.size[d];
      sa = l.sa[d];
      sb = l.sb[d];
      sc = l.sc[d];
    }
    if (fold_m || fold_k || batch > 1) {
      l.size.pop_back();
      l.sa.pop_back();
      l.sb.pop_back();
      l.sc.pop_back();
    }
  }
  const size_t nd = l.size.size();
  std::vector<int64_t> idx(nd, 0);
  for (int64_t it = 0, n = l.count(); it < n; ++it) {
    int64_t oa = 0, ob = 0, oc = 0;
    bool first = true;
    for (size_t d = 0; d < nd; ++d) {
      oa += idx[d] * l.sa[d];
      ob += idx[d] * l.sb[d];
      oc += idx[d] * l.sc[d];
      if (l.sc[d] == 0 && idx[d] != 0) first = false;
    }
    CG_ON_DEVICE(dev, gemm, g.ta, g.tb, g.M, g.N, g.K, 1.f, g.A + oa, g.lda, g.B + ob, g.ldb, first ? 0.f : 1.f,
                g.C + oc, g.ldc, batch, sa, sb, sc, ep);
    for (size_t d = nd; d-- > 0;) {
      if (++idx[d] < l.size[d]) break;
      idx[d] = 0;
    }
  }
}

// Shapes of one matmul, 1-D operands promoted: a (..., M, K) @ b (..., K, N) -> (bshape..., M, N).
struct MatmulShape {
  int64_t M, N, K;
  Shape batch;                             // broadcast batch dims
  std::vector<int64_t> sa, sb, sc;         // their element strides in a, b, out (0: broadcast)
  Shape out;                               // result shape, promoted dims removed
};

Shape tail_dims(const Shape& s, size_t drop) { return Shape(s.begin(), s.end() - static_cast<std::ptrdiff_t>(drop)); }

MatmulShape matmul_shape(const char* op, const TensorImpl& a, const TensorImpl& b) {
  const Shape &as = a.shape(), &bs = b.shape();
  if (as.empty() || bs.empty())
    throw_range_error(op, ": both operands must have at least 1 dimension, got shapes ", shape_str(as), " and ",
                      shape_str(bs));
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  MatmulShape m;
  m.M = a1 ? 1 : as[as.size() - 2];
  m.K = as.back();
  m.N = b1 ? 1 : bs.back();
  const int64_t kb = b1 ? bs[0] : bs[bs.size() - 2];
  if (m.K != kb)
    throw_range_error(op, ": shapes ", shape_str(as), " and ", shape_str(bs), " cannot be multiplied (", m.K,
                      " != ", kb, ")");
  const Shape ab = a1 ? Shape{} : tail_dims(as, 2), bb = b1 ? Shape{} : tail_dims(bs, 2);
  const size_t nb = ab.size() > bb.size() ? ab.size() : bb.size();
  m.batch.assign(nb, 1);
  m.sa.assign(nb, 0);
  m.sb.assign(nb, 0);
  m.sc.assign(nb, 0);
  int64_t stride_a = m.M * m.K, stride_b = m.K * m.N;
  for (size_t i = 0; i < nb; ++i) {  // from the innermost batch dim outwards
    const size_t d = nb - 1 - i;
    const int64_t sa = i < ab.size() ? ab[ab.size() - 1 - i] : 1, sb = i < bb.size() ? bb[bb.size() - 1 - i] : 1;
    if (sa != sb && sa != 1 && sb != 1)
      throw_range_error(op, ": batch dimensions of ", shape_str(as), " and ", shape_str(bs), " cannot be broadcast (",
                        shape_str(ab), " vs ", shape_str(bb), ")");
    m.batch[d] = sa == 1 ? sb : sa;
    m.sa[d] = sa == 1 ? 0 : stride_a;
    m.sb[d] = sb == 1 ? 0 : stride_b;
    stride_a *= sa;
    stride_b *= sb;
  }
  int64_t stride_c = m.M * m.N;
  for (size_t d = nb; d-- > 0;) {
    m.sc[d] = stride_c;
    stride_c *= m.batch[d];
  }
  m.out = m.batch;
  if (!a1) m.out.push_back(m.M);
  if (!b1) m.out.push_back(m.N);
  return m;
}

Loop loop_of(const Shape& size, const std::vector<int64_t>& sa, const std::vector<int64_t>& sb,
             const std::vector<int64_t>& sc) {
  return Loop{size, sa, sb, sc};
}

void check_float(const char* op, const TensorImpl& t, const char* name) { check_dtype(op, t, DType::Float32, name); }

// Elements reached by a strided operand: (batch - 1) * stride + (rows - 1) * ld + cols.
int64_t extent(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

}  // namespace

TensorPtr matmul(const TensorImpl& a, const TensorImpl& b) {
  const char* op = "cudagrad.matmul";
  check_float(op, a, "a");
  check_float(op, b, "b");
  Device dev = check_same_device(op, {&a, &b});
  MatmulShape m = matmul_shape(op, a, b);
  if (shape_numel(m.batch) == 0 || m.M == 0 || m.N == 0) return empty(op, m.out, DType::Float32, dev);
  TensorPtr out = empty(op, m.out, DType::Float32, dev);
  Mm g{false, false, m.M, m.N, m.K, a.data_as<float>(), m.K, b.data_as<float>(), m.N, out->data_as<float>(), m.N};
  run_batched(op, dev, g, loop_of(m.batch, m.sa, m.sb, m.sc), Epilogue{});
  return out;
}

MatmulGrads matmul_backward(const TensorImpl& dout, const TensorImpl& a, const TensorImpl& b) {
  const char* op = "cudagrad.matmul backward";
  check_float(op, dout, "dout");
  check_float(op, a, "a");
  check_float(op, b, "b");
  Device dev = check_same_device(op, {&dout, &a, &b});
  MatmulShape m = matmul_shape(op, a, b);
  if (dout.shape() != m.out)
    throw_range_error(op, ": dout has shape ", shape_str(dout.shape()), " but ", shape_str(a.shape()), " @ ",
                      shape_str(b.shape()), " has shape ", shape_str(m.out));
  MatmulGrads g;
  if (shape_numel(m.batch) == 0) {  // nothing to sum: zero gradients
    g.da = full(op, a.shape(), DType::Float32, 0, dev);
    g.db = full(op, b.shape(), DType::Float32, 0, dev);
    return g;
  }
  g.da = empty(op, a.shape(), DType::Float32, dev);
  g.db = empty(op, b.shape(), DType::Float32, dev);
  const float* d = dout.data_as<float>();
  // da (M, K) = dout (M, N) @ b^T, summed over the dims a was broadcast along.
  if (m.M > 0 && m.K > 0) {
    Mm da{false, true, m.M, m.K, m.N, d, m.N, b.data_as<float>(), m.N, g.da->data_as<float>(), m.K};
    run_batched(op, dev, da, loop_of(m.batch, m.sc, m.sb, m.sa), Epilogue{});
  }
  // db (K, N) = a^T @ dout (M, N), summed over the dims b was broadcast along.
  if (m.K > 0 && m.N > 0) {
    Mm db{true, false, m.K, m.N, m.M, a.data_as<float>(), m.K, d, m.N, g.db->data_as<float>(), m.N};
    run_batched(op, dev, db, loop_of(m.batch, m.sa, m.sc, m.sb), Epilogue{});
  }
  return g;
}

TensorPtr linear(const TensorImpl& x, const TensorImpl& weight, const TensorImpl* bias, bool has_act, Act act) {
  const char* op = "cudagrad.linear";
  check_float(op, x, "x");
  check_float(op, weight, "weight");
  if (bias) check_float(op, *bias, "bias");
  Device dev = bias ? check_same_device(op, {&x, &weight, bias}) : check_same_device(op, {&x, &weight});
  const Shape &xs = x.shape(), &ws = weight.shape();
  if (ws.size() != 2) throw_range_error(op, ": weight must be 2-D (out, in), got shape ", shape_str(ws));
  if (xs.empty()) throw_range_error(op, ": x must have at least 1 dimension (..., in), got shape []");
  if (xs.back() != ws[1])
    throw_range_error(op, ": x has shape ", shape_str(xs), " but weight has shape ", shape_str(ws), " (in features ",
                      xs.back(), " != ", ws[1], ")");
  if (bias && bias->shape() != Shape{ws[0]})
    throw_range_error(op, ": bias has shape ", shape_str(bias->shape()), " but weight has shape ", shape_str(ws),
                      " (expected [", ws[0], "])");
  Shape os = tail_dims(xs, 1);
  os.push_back(ws[0]);
  TensorPtr out = empty(op, os, DType::Float32, dev);
  const int64_t M = shape_numel(tail_dims(xs, 1)), N = ws[0], K = ws[1];
  if (out->numel() == 0) return out;
  Epilogue ep;
  ep.bias = bias ? bias->data_as<float>() : nullptr;
  ep.has_act = has_act;
  ep.act = act;
  // out (M, N) = x (M, K) @ weight^T (K, N)
  CG_ON_DEVICE(dev, gemm, false, true, M, N, K, 1.f, x.data_as<float>(), K, weight.data_as<float>(), K, 0.f,
              out->data_as<float>(), N, 1, 0, 0, 0, ep);
  return out;
}

LinearGrads linear_backward(const TensorImpl& dout, const TensorImpl& x, const TensorImpl& weight, bool has_bias) {
  const char* op = "cudagrad.linear backward";
  check_float(op, dout, "dout");
  check_float(op, x, "x");
  check_float(op, weight, "weight");
  Device dev = check_same_device(op, {&dout, &x, &weight});
  const Shape &xs = x.shape(), &ws = weight.shape();
  if (ws.size() != 2) throw_range_error(op, ": weight must be 2-D (out, in), got shape ", shape_str(ws));
  if (xs.empty() || xs.back() != ws[1])
    throw_range_error(op, ": x has shape ", shape_str(xs), " but weight has shape ", shape_str(ws), " (expected (..., ",
                      ws[1], "))");
  Shape os = tail_dims(xs, 1);
  os.push_back(ws[0]);
  if (dout.shape() != os)
    throw_range_error(op, ": dout has shape ", shape_str(dout.shape()), " but the output has shape ", shape_str(os));
  const int64_t M = shape_numel(tail_dims(xs, 1)), N = ws[0], K = ws[1];
  LinearGrads g;
  g.dx = empty(op, xs, DType::Float32, dev);
  g.dweight = empty(op, ws, DType::Float32, dev);
  const float* d = dout.data_as<float>();
  // dx (M, K) = dout (M, N) @ weight (N, K)
  if (M > 0 && K > 0)
    CG_ON_DEVICE(dev, gemm, false, false, M, K, N, 1.f, d, N, weight.data_as<float>(), K, 0.f,
                g.dx->data_as<float>(), K);
  // dweight (N, K) = dout^T (N, M) @ x (M, K)
  if (N > 0 && K > 0)
    CG_ON_DEVICE(dev, gemm, true, false, N, K, M, 1.f, d, N, x.data_as<float>(), K, 0.f,
                g.dweight->data_as<float>(), K);
  if (has_bias) {
    g.dbias = full(op, {N}, DType::Float32, 0, dev);  // dbias (N) = sum over rows of dout
    if (M > 0) CG_ON_DEVICE(dev, linear_bias_backward, g.dbias->data_as<float>(), d, M, N);
  }
  return g;
}

GemmResult gemm(const GemmArgs& p, const TensorImpl& a, const TensorImpl& b, const TensorImpl& c,
                const TensorImpl* bias) {
  const char* op = "cudagrad.gemm";
  check_float(op, a, "a");
  check_float(op, b, "b");
  check_float(op, c, "c");
  if (bias) check_float(op, *bias, "bias");
  Device dev = bias ? check_same_device(op, {&a, &b, &c, bias}) : check_same_device(op, {&a, &b, &c});
  if (p.M < 0 || p.N < 0 || p.K < 0 || p.batch < 0)
    throw_range_error(op, ": negative size (M ", p.M, ", N ", p.N, ", K ", p.K, ", batch ", p.batch, ")");
  check_value(op, p.alpha, DType::Float32, "alpha");
  check_value(op, p.beta, DType::Float32, "beta");
  const int64_t ra = p.trans_a ? p.K : p.M, ca = p.trans_a ? p.M : p.K;
  const int64_t rb = p.trans_b ? p.N : p.K, cb = p.trans_b ? p.K : p.N;
  auto check_ld = [&](const char* name, int64_t ld, int64_t cols) {
    if (ld < (cols > 1 ? cols : 1)) throw_range_error(op, ": ", name, " ", ld, " is less than ", cols > 1 ? cols : 1);
  };
  check_ld("lda", p.lda, ca);
  check_ld("ldb", p.ldb, cb);
  check_ld("ldc", p.ldc, p.N);
  if (p.stride_a < 0 || p.stride_b < 0)
    throw_range_error(op, ": negative batch stride (", p.stride_a, ", ", p.stride_b, ")");
  if (p.batch > 1 && p.M > 0 && p.N > 0 && p.stride_c < (p.M - 1) * p.ldc + p.N)
    throw_range_error(op, ": stride_c ", p.stride_c, " makes the ", p.batch, " outputs overlap");
  auto check_ext = [&](const char* name, const TensorImpl& t, int64_t need) {
    if (t.numel() < need) throw_range_error(op, ": ", name, " has ", t.numel(), " elements but the GEMM reads ", need);
  };
  const bool reads = p.K > 0 && p.alpha != 0;
  if (reads) {
    check_ext("a", a, extent(p.batch, p.stride_a, ra, ca, p.lda));
    check_ext("b", b, extent(p.batch, p.stride_b, rb, cb, p.ldb));
  }
  check_ext("c", c, extent(p.batch, p.stride_c, p.M, p.N, p.ldc));
  if (bias && bias->numel() != p.N) throw_range_error(op, ": bias has ", bias->numel(), " elements, expected N = ", p.N);
  GemmResult r;
  // The outputs start as copies of c: elements outside the M x N results (row
  // padding, gaps between batches) keep c's values. When beta == 0 and the
  // results cover c densely, every element is written and c is never read: no copy.
  const bool dense = p.ldc == p.N && (p.batch <= 1 || p.stride_c == p.M * p.N) && c.numel() == p.batch * p.M * p.N;
  auto start_from_c = [&]() { return p.beta == 0 && dense ? empty(op, c.shape(), DType::Float32, c.device()) : clone(op, c); };
  r.out = start_from_c();
  if (p.want_preact) r.preact = start_from_c();
  Epilogue ep;
  ep.bias = bias ? bias->data_as<float>() : nullptr;
  ep.has_act = p.has_act;
  ep.act = p.act;
  ep.preact = r.preact ? r.preact->data_as<float>() : nullptr;
  CG_ON_DEVICE(dev, gemm, p.trans_a, p.trans_b, p.M, p.N, p.K, static_cast<float>(p.alpha), a.data_as<float>(),
              p.lda, b.data_as<float>(), p.ldb, static_cast<float>(p.beta), r.out->data_as<float>(), p.ldc, p.batch,
              p.stride_a, p.stride_b, p.stride_c, ep);
  return r;
}

}  // namespace cg::dispatch
