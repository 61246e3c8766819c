// SPDX-License-Identifier: Apache-2.0
// pybind11 module kakeyalattice._core: a thin layer. It checks dtype, shape and strides,
// takes pointers, releases the GIL and calls the C++ library. No codec maths here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "kakeya/attention/paged.h"
#include "kakeya/kakeya.h"
#if defined(KAKEYA_WITH_CUDA)
#include <cuda_runtime.h>

#include "kakeya/gpu/attention.h"
#include "kakeya/gpu/codec.h"
#endif

namespace py = pybind11;
using namespace kakeya;

namespace {

/// Python exception classes (created in the module init): every library error is a
/// KakeyaError and also the matching built-in (ValueError, TypeError, RuntimeError).
PyObject* g_kakeya_error = nullptr;
PyObject* g_value_error = nullptr;
PyObject* g_corrupt_error = nullptr;
PyObject* g_type_error = nullptr;
PyObject* g_runtime_error = nullptr;

[[noreturn]] void raise(PyObject* cls, const std::string& msg) {
  PyErr_SetString(cls, msg.c_str());
  throw py::error_already_set();
}
[[noreturn]] void type_error(const std::string& msg) { raise(g_type_error, msg); }
[[noreturn]] void value_error(const std::string& msg) { raise(g_value_error, msg); }

enum class Elem { kF32, kF16, kBF16 };

Elem parse_elem(const std::string& tag, const char* arg) {
  if (tag == "float32") return Elem::kF32;
  if (tag == "float16") return Elem::kF16;
  if (tag == "bfloat16") return Elem::kBF16;
  type_error(std::string(arg) + " dtype '" + tag +
                       "' is not supported; use float32, float16 or bfloat16");
}

size_t elem_size(Elem e) { return e == Elem::kF32 ? 4 : 2; }

/// Calls f(T{}) with T the element type of e (float, f16 or bf16).
template <class F>
decltype(auto) with_elem(Elem e, F&& f) {
  switch (e) {
    case Elem::kF32: return f(float{});
    case Elem::kF16: return f(f16{});
    default: return f(bf16{});
  }
}

/// A 2-D view (rows × cols) of a numpy array whose last axis is contiguous.
struct Rows {
  const void* data;
  void* mutable_data;
  int64_t rows, cols, row_stride;  // row_stride in elements
};

Rows rows_view(const py::array& a, size_t itemsize, int64_t cols, const char* arg, bool writable) {
  if (a.ndim() != 2)
    value_error(std::string(arg) + " must be 2-D here (rows, " + std::to_string(cols) +
                          "), got ndim = " + std::to_string(a.ndim()));
  if (a.shape(1) != cols)
    value_error(std::string(arg) + " last dimension is " + std::to_string(a.shape(1)) +
                          ", expected " + std::to_string(cols));
  if (static_cast<size_t>(a.dtype().itemsize()) != itemsize)
    type_error(std::string(arg) + " itemsize " + std::to_string(a.dtype().itemsize()) +
                         " does not match its dtype tag");
  const int64_t rows = a.shape(0);
  if (rows > 0 && cols > 1 && a.strides(1) != static_cast<py::ssize_t>(itemsize))
    value_error(std::string(arg) + " last axis must be contiguous (stride " +
                          std::to_string(a.strides(1)) + " bytes)");
  int64_t rs = cols;
  if (rows > 1) {
    if (a.strides(0) <= 0 || a.strides(0) % static_cast<py::ssize_t>(itemsize) != 0)
      value_error(std::string(arg) + " row stride " + std::to_string(a.strides(0)) +
                            " bytes is not a positive multiple of the item size");
    rs = a.strides(0) / static_cast<py::ssize_t>(itemsize);
  }
  if (writable && !a.writeable()) value_error(std::string(arg) + " is read-only");
  return {a.data(), writable ? const_cast<void*>(a.data()) : nullptr, rows, cols, rs};
}

struct PyCodec {
  CodecSpec spec;

  PyCodec(const std::string& family, int32_t dim, const CodecParams& params)
      : spec(make_codec(family, dim, params)) {}

  void encode_into(const py::array& x, const std::string& tag, py::array& codes) const {
    const Elem e = parse_elem(tag, "x");
    const Rows xv = rows_view(x, elem_size(e), spec.dim, "x", false);
    const Rows cv = rows_view(codes, 1, spec.code_bytes(), "codes", true);
    if (cv.rows != xv.rows)
      value_error("codes rows " + std::to_string(cv.rows) + " != x rows " + std::to_string(xv.rows));
    const CodeBatch cb{static_cast<uint8_t*>(cv.mutable_data), cv.rows, cv.row_stride};
    py::gil_scoped_release nogil;
    with_elem(e, [&](auto t) {
      using T = decltype(t);
      cpu::encode<T>(spec, {static_cast<const T*>(xv.data), xv.rows, xv.cols, xv.row_stride}, cb);
    });
  }

  /// bad_rows: None (a corrupt row raises KakeyaCorruptCode) or a writable C-contiguous
  /// bool/uint8 array of `rows` entries that receives 1 for each corrupt (zeroed) row.
  void decode_into(const py::array& codes, py::array& out, const std::string& tag,
                   const py::object& bad_rows) const {
    const Elem e = parse_elem(tag, "out");
    const Rows cv = rows_view(codes, 1, spec.code_bytes(), "codes", false);
    const Rows ov = rows_view(out, elem_size(e), spec.dim, "out", true);
    if (cv.rows != ov.rows)
      value_error("out rows " + std::to_string(ov.rows) + " != codes rows " + std::to_string(cv.rows));
    uint8_t* bad = nullptr;
    if (!bad_rows.is_none()) {
      auto b = bad_rows.cast<py::array>();
      if (b.dtype().itemsize() != 1 || !(b.flags() & py::array::c_style) || !b.writeable() || b.size() != cv.rows)
        value_error("bad_rows must be a writable C-contiguous 1-byte array of " + std::to_string(cv.rows) +
                    " entries");
      bad = static_cast<uint8_t*>(b.mutable_data());
    }
    const ConstCodeBatch cb{static_cast<const uint8_t*>(cv.data), cv.rows, cv.row_stride};
    py::gil_scoped_release nogil;
    with_elem(e, [&](auto t) {
      using T = decltype(t);
      cpu::decode<T>(spec, cb, {static_cast<T*>(ov.mutable_data), ov.rows, ov.cols, ov.row_stride}, bad);
    });
  }
};

py::dict compare_f32(const py::array_t<float, py::array::c_style | py::array::forcecast>& x,
                     const py::array_t<float, py::array::c_style | py::array::forcecast>& xh) {
  if (x.ndim() != 2 || xh.ndim() != 2)
    value_error("x and x_hat must be 2-D (rows, dim)");
  cpu::ErrorStats s;
  {
    py::gil_scoped_release nogil;
    s = cpu::compare<float, float>({x.data(), x.shape(0), x.shape(1), x.shape(1)},
                                   {xh.data(), xh.shape(0), xh.shape(1), xh.shape(1)});
  }
  py::dict d;
  d["rows"] = s.rows;
  d["dim"] = s.dim;
  d["sq_error"] = s.sq_error;
  d["centered_energy"] = s.centered_energy;
  d["energy"] = s.energy;
  d["rel_mse"] = s.rel_mse;
  d["mean_cosine"] = s.mean_cosine;
  d["max_abs_error"] = s.max_abs_error;
  return d;
}

py::tuple per_vector_f32(const py::array_t<float, py::array::c_style | py::array::forcecast>& x,
                         const py::array_t<float, py::array::c_style | py::array::forcecast>& xh) {
  if (x.ndim() != 2 || xh.ndim() != 2) value_error("x and x_hat must be 2-D (rows, dim)");
  py::array_t<double> rel(x.shape(0)), cosv(x.shape(0)), se(x.shape(0));
  double *r = rel.mutable_data(), *c = cosv.mutable_data(), *e = se.mutable_data();
  {
    py::gil_scoped_release nogil;
    cpu::per_vector_error<float, float>({x.data(), x.shape(0), x.shape(1), x.shape(1)},
                                        {xh.data(), xh.shape(0), xh.shape(1), xh.shape(1)}, r, c, e);
  }
  return py::make_tuple(rel, cosv, se);
}

/// The codec's rotation y = H x / sqrt(P) of each row (for statistics in Python).

// ------------------------------------------------------------ affine pre-transform
using F32In = py::array_t<float, py::array::c_style | py::array::forcecast>;
using I32In = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;

std::vector<RopePair> pairs_from(const std::optional<I32In>& pairs) {
  std::vector<RopePair> pv;
  if (!pairs) return pv;
  if (pairs->ndim() != 2 || pairs->shape(1) != 3)
    value_error("pairs must have shape (npairs, 3): (channel a, channel b, frequency), got ndim = " +
                std::to_string(pairs->ndim()));
  const int32_t* p = pairs->data();
  for (py::ssize_t j = 0; j < pairs->shape(0); ++j) pv.push_back({p[3 * j], p[3 * j + 1], p[3 * j + 2]});
  return pv;
}

std::vector<float> vec_from(const char* name, const F32In& a) {
  if (a.ndim() != 1) value_error(std::string(name) + " must be 1-D, got ndim = " + std::to_string(a.ndim()));
  return std::vector<float>(a.data(), a.data() + a.size());
}

StridedBatch<const float> rows_of(const char* name, const std::optional<F32In>& a) {
  if (!a) return {};
  if (a->ndim() != 2) value_error(std::string(name) + " must be 2-D (rows, n), got ndim = " + std::to_string(a->ndim()));
  return {a->data(), a->shape(0), a->shape(1), a->shape(1)};
}

struct PyAffine {
  ChannelAffine a;
  py::array_t<float> apply(const F32In& x, const std::optional<F32In>& cos, const std::optional<F32In>& sin,
                           bool inverse) const {
    if (x.ndim() != 2)
      value_error(std::string(inverse ? "z" : "x") + " must be 2-D (rows, dim), got ndim = " + std::to_string(x.ndim()));
    py::array_t<float> out({x.shape(0), x.shape(1)});
    const StridedBatch<const float> xb{x.data(), x.shape(0), x.shape(1), x.shape(1)};
    const StridedBatch<float> ob{out.mutable_data(), x.shape(0), x.shape(1), x.shape(1)};
    const auto cb = rows_of("cos", cos), sb = rows_of("sin", sin);
    py::gil_scoped_release nogil;
    if (inverse)
      a.inverse<float>(xb, cb, sb, ob);
    else
      a.forward<float>(xb, cb, sb, ob);
    return out;
  }
};

PyAffine affine_fit(const F32In& x, bool with_scale, const std::optional<I32In>& pairs,
                    const std::optional<F32In>& cos, const std::optional<F32In>& sin) {
  if (x.ndim() != 2) value_error("x must be 2-D (rows, dim), got ndim = " + std::to_string(x.ndim()));
  const StridedBatch<const float> xb{x.data(), x.shape(0), x.shape(1), x.shape(1)};
  return PyAffine{ChannelAffine::fit(xb, with_scale, pairs_from(pairs), rows_of("cos", cos), rows_of("sin", sin))};
}

py::array_t<float> hadamard_rotate_rows(const py::array_t<float, py::array::c_style | py::array::forcecast>& x) {
  if (x.ndim() != 2 || x.shape(1) % 8 != 0)
    value_error("x must be 2-D (rows, dim) with dim a multiple of 8, got shape with ndim = " +
                          std::to_string(x.ndim()));
  py::array_t<float> out({x.shape(0), x.shape(1)});
  float* o = out.mutable_data();
  std::copy(x.data(), x.data() + x.size(), o);
  const int32_t dim = static_cast<int32_t>(x.shape(1));
  const int64_t rows = x.shape(0);
  py::gil_scoped_release nogil;
  for (int64_t r = 0; r < rows; ++r) hadamard_rotate(o + r * dim, dim);
  return out;
}

py::array_t<uint8_t> float_to_e4m3_array(const py::array_t<float, py::array::c_style | py::array::forcecast>& x) {
  py::array_t<uint8_t> out(x.request().shape);
  const float* src = x.data();
  uint8_t* dst = out.mutable_data();
  for (py::ssize_t i = 0; i < x.size(); ++i) dst[i] = float_to_e4m3(src[i]);
  return out;
}

py::array_t<float> e4m3_to_float_array(const py::array_t<uint8_t, py::array::c_style | py::array::forcecast>& c) {
  py::array_t<float> out(c.request().shape);
  for (py::ssize_t i = 0; i < c.size(); ++i) out.mutable_data()[i] = e4m3_to_float(c.data()[i]);
  return out;
}

py::array_t<float> e8m0_to_float_array(const py::array_t<uint8_t, py::array::c_style | py::array::forcecast>& c) {
  py::array_t<float> out(c.request().shape);
  for (py::ssize_t i = 0; i < c.size(); ++i) out.mutable_data()[i] = e8m0_to_float(c.data()[i]);
  return out;
}

// ----------------------------------------------------------------------------- attention (host)
using F32Array = py::array_t<float, py::array::c_style | py::array::forcecast>;
using I32Array = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using I64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

const CodecSpec* v_spec_of(const py::object& v) {
  return v.is_none() ? nullptr : &v.cast<const PyCodec&>().spec;
}

void check_cache_array(const py::array& a, const char* name, int64_t want) {
  if (a.dtype().kind() != 'u' || a.dtype().itemsize() != 1 || !(a.flags() & py::array::c_style))
    type_error(std::string(name) + " must be a C-contiguous uint8 array");
  if (a.size() != want)
    value_error(std::string(name) + " has " + std::to_string(a.size()) + " bytes, expected " +
                          std::to_string(want) + " (num_blocks·block_size·kv_heads·record bytes)");
}

void append_kv_host(const PyCodec& k, const py::object& v, const F32Array& k_new, const py::object& v_new,
                    const I64Array& slots, py::array& k_cache, py::object v_cache, int32_t num_blocks,
                    int32_t block_size, int32_t kv_heads) {
  const CodecSpec* vs = v_spec_of(v);
  const int64_t n = slots.size();
  const int64_t per = static_cast<int64_t>(kv_heads) * k.spec.dim;
  if (k_new.size() != n * per)
    value_error("k_new has " + std::to_string(k_new.size()) + " values, expected n·kv_heads·dim = " +
                          std::to_string(n * per));
  const int64_t cap = static_cast<int64_t>(num_blocks) * block_size * kv_heads;
  check_cache_array(k_cache, "k_cache", cap * k.spec.code_bytes());
  F32Array vn;
  py::array vc;
  if (vs) {
    vn = v_new.cast<F32Array>();
    vc = v_cache.cast<py::array>();
    if (vn.size() != n * per) value_error("v_new must have the shape of k_new");
    check_cache_array(vc, "v_cache", cap * vs->code_bytes());
  }
  const auto view = PagedKV<uint8_t>::storage(static_cast<uint8_t*>(k_cache.mutable_data()), k.spec,
                                             vs ? static_cast<uint8_t*>(vc.mutable_data()) : nullptr, vs, num_blocks,
                                             block_size, kv_heads);
  py::gil_scoped_release nogil;
  cpu::append_kv(k.spec, vs, k_new.data(), vs ? vn.data() : nullptr, n, slots.data(), view);
}

F32Array attention_reference_host(const PyCodec& k, const py::object& v, const py::array& k_cache,
                                  const py::object& v_cache, int32_t num_blocks, int32_t block_size,
                                  int32_t kv_heads, const I32Array& table, const I32Array& lens, const F32Array& q,
                                  float scale) {
  const CodecSpec* vs = v_spec_of(v);
  if (q.ndim() != 3) value_error("q must be (batch, q_heads, dim)");
  if (table.ndim() != 2) value_error("block_table must be (batch, max_blocks)");
  const int32_t batch = static_cast<int32_t>(q.shape(0));
  if (lens.size() != batch || table.shape(0) != batch)
    value_error("seq_lens and block_table must have batch = " + std::to_string(batch) + " rows");
  const int64_t cap = static_cast<int64_t>(num_blocks) * block_size * kv_heads;
  check_cache_array(k_cache, "k_cache", cap * k.spec.code_bytes());
  py::array vc;
  if (vs) {
    vc = v_cache.cast<py::array>();
    check_cache_array(vc, "v_cache", cap * vs->code_bytes());
  }
  const auto view = PagedKV<const uint8_t>::storage(static_cast<const uint8_t*>(k_cache.data()), k.spec,
                                                   vs ? static_cast<const uint8_t*>(vc.data()) : nullptr, vs,
                                                   num_blocks, block_size, kv_heads)
                        .with_table(table.data(), static_cast<int32_t>(table.shape(1)), lens.data(), batch);
  const AttentionShape s{batch, static_cast<int32_t>(q.shape(1)), kv_heads, static_cast<int32_t>(q.shape(2)), scale};
  F32Array out({q.shape(0), q.shape(1), q.shape(2)});
  float* o = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    cpu::decode_attention_reference(k.spec, vs, view, s, q.data(), o);
  }
  return out;
}

#if defined(KAKEYA_WITH_CUDA)
// GPU entry points take torch CUDA tensors (read through their Python attributes, so no
// torch headers are needed) and check device, dtype, shape, strides and stream here,
// before any pointer is taken; the launchers validate the shapes again and report a
// Status, which becomes a Kakeya* exception.
void gpu_call_check(Status st) {
  if (st == Status::kOk) return;
  const std::string msg = std::string("GPU launcher: ") + gpu::last_error();
  if (st == Status::kInvalidArgument || st == Status::kInvalidInput) value_error(msg);
  if (st == Status::kCorruptCode) raise(g_corrupt_error, msg);
  raise(g_runtime_error, msg);
}

/// A CUDA tensor argument: pointer, dtype name ("float32", "uint8", ...), shape, strides
/// (elements) and device index.
struct DevTensor {
  uintptr_t ptr = 0;
  std::string dtype;
  std::vector<int64_t> shape, strides;
  int device = -1;
  [[nodiscard]] int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

DevTensor dev_tensor(const py::handle& t, const std::string& name) {
  if (!py::hasattr(t, "data_ptr") || !py::hasattr(t, "device") || !py::hasattr(t, "stride") ||
      !py::hasattr(t, "dtype"))
    type_error(name + " must be a torch tensor on a CUDA device, got " +
               std::string(py::str(py::type::handle_of(t).attr("__name__"))));
  DevTensor d;
  const py::object dev = t.attr("device");
  const std::string type = py::str(dev.attr("type"));
  if (type != "cuda") value_error(name + " is on device '" + type + "', expected a CUDA tensor");
  d.device = dev.attr("index").is_none() ? 0 : dev.attr("index").cast<int>();
  std::string dt = py::str(t.attr("dtype"));
  d.dtype = dt.rfind("torch.", 0) == 0 ? dt.substr(6) : dt;
  for (auto v : t.attr("shape")) d.shape.push_back(v.cast<int64_t>());
  for (auto v : t.attr("stride")()) d.strides.push_back(v.cast<int64_t>());
  d.ptr = t.attr("data_ptr")().cast<uintptr_t>();
  return d;
}

void expect_dtype(const DevTensor& d, const std::string& name, std::initializer_list<const char*> ok) {
  std::string list;
  for (const char* o : ok) {
    if (d.dtype == o) return;
    list += (list.empty() ? "" : ", ") + std::string(o);
  }
  type_error(name + " dtype " + d.dtype + " is not supported here; use " + list);
}

void expect_contiguous(const DevTensor& d, const std::string& name) {
  int64_t want = 1;
  for (size_t i = d.shape.size(); i-- > 0;) {
    if (d.shape[i] > 1 && d.strides[i] != want)
      value_error(name + " must be contiguous (stride " + std::to_string(d.strides[i]) + " in dim " +
                  std::to_string(i) + ", expected " + std::to_string(want) + ")");
    want *= d.shape[i];
  }
}

/// A 2-D (rows, cols) view with a contiguous last axis; returns the row stride (elements).
int64_t expect_rows(const DevTensor& d, const std::string& name, int64_t cols) {
  if (d.shape.size() != 2 || d.shape[1] != cols)
    value_error(name + " must have shape (rows, " + std::to_string(cols) + "), got ndim " +
                std::to_string(d.shape.size()) + (d.shape.size() == 2 ? ", last " + std::to_string(d.shape[1]) : ""));
  if (cols > 1 && d.shape[0] > 0 && d.strides[1] != 1)
    value_error(name + " last axis must be contiguous (stride " + std::to_string(d.strides[1]) + ")");
  if (d.shape[0] > 1 && d.strides[0] < cols)
    value_error(name + " row stride " + std::to_string(d.strides[0]) + " is below its width " + std::to_string(cols));
  return d.shape[0] > 1 ? d.strides[0] : cols;
}

/// All tensors on one device, that device current, and the stream on it.
cudaStream_t check_device(const std::vector<std::pair<const DevTensor*, const char*>>& ts, uintptr_t stream) {
  const int dev = ts.front().first->device;
  for (const auto& t : ts)
    if (t.first->device != dev)
      value_error(std::string(t.second) + " is on cuda:" + std::to_string(t.first->device) + " but " +
                  ts.front().second + " is on cuda:" + std::to_string(dev));
  int cur = -1;
  if (cudaGetDevice(&cur) != cudaSuccess || cur != dev)
    value_error("the current CUDA device is " + std::to_string(cur) + " but the tensors are on cuda:" +
                std::to_string(dev) + " (use `with torch.cuda.device(...)`)");
  auto* st = reinterpret_cast<cudaStream_t>(stream);
  int sdev = -1;
  if (st != nullptr && cudaStreamGetDevice(st, &sdev) == cudaSuccess && sdev != dev)
    value_error("stream belongs to cuda:" + std::to_string(sdev) + ", the tensors to cuda:" + std::to_string(dev));
  return st;
}

Elem elem_of(const DevTensor& d, const std::string& name) { return parse_elem(d.dtype, name.c_str()); }

void gpu_encode(const PyCodec& c, const py::handle& x, const py::handle& codes, const py::handle& flag,
                uintptr_t stream) {
  const DevTensor xt = dev_tensor(x, "x"), ct = dev_tensor(codes, "codes"), ft = dev_tensor(flag, "flag");
  expect_dtype(xt, "x", {"float32", "float16", "bfloat16"});
  expect_dtype(ct, "codes", {"uint8"});
  expect_dtype(ft, "flag", {"int32"});
  const int64_t xs = expect_rows(xt, "x", c.spec.dim);
  const int64_t cs = expect_rows(ct, "codes", c.spec.code_bytes());
  if (ct.shape[0] != xt.shape[0])
    value_error("codes rows " + std::to_string(ct.shape[0]) + " != x rows " + std::to_string(xt.shape[0]));
  if (ft.numel() < 1) value_error("flag must hold one int32");
  cudaStream_t st = check_device({{&xt, "x"}, {&ct, "codes"}, {&ft, "flag"}}, stream);
  const CodeBatch cb{reinterpret_cast<uint8_t*>(ct.ptr), ct.shape[0], cs};
  Status s;
  {
    py::gil_scoped_release nogil;
    s = with_elem(elem_of(xt, "x"), [&](auto t) {
      using T = decltype(t);
      return gpu::encode<T>(c.spec, {reinterpret_cast<const T*>(xt.ptr), xt.shape[0], c.spec.dim, xs}, cb,
                            reinterpret_cast<int32_t*>(ft.ptr), st);
    });
  }
  gpu_call_check(s);
}

void gpu_decode(const PyCodec& c, const py::handle& codes, const py::handle& out, const py::handle& flag,
                uintptr_t stream) {
  const DevTensor ct = dev_tensor(codes, "codes"), ot = dev_tensor(out, "out"), ft = dev_tensor(flag, "flag");
  expect_dtype(ct, "codes", {"uint8"});
  expect_dtype(ot, "out", {"float32", "float16", "bfloat16"});
  expect_dtype(ft, "flag", {"int32"});
  const int64_t cs = expect_rows(ct, "codes", c.spec.code_bytes());
  const int64_t os = expect_rows(ot, "out", c.spec.dim);
  if (ct.shape[0] != ot.shape[0])
    value_error("out rows " + std::to_string(ot.shape[0]) + " != codes rows " + std::to_string(ct.shape[0]));
  if (ft.numel() < 1) value_error("flag must hold one int32");
  cudaStream_t st = check_device({{&ct, "codes"}, {&ot, "out"}, {&ft, "flag"}}, stream);
  const ConstCodeBatch cb{reinterpret_cast<const uint8_t*>(ct.ptr), ct.shape[0], cs};
  Status s;
  {
    py::gil_scoped_release nogil;
    s = with_elem(elem_of(ot, "out"), [&](auto t) {
      using T = decltype(t);
      return gpu::decode<T>(c.spec, cb, {reinterpret_cast<T*>(ot.ptr), ot.shape[0], c.spec.dim, os},
                            reinterpret_cast<int32_t*>(ft.ptr), st);
    });
  }
  gpu_call_check(s);
}

size_t gpu_attention_workspace(int32_t batch, int32_t q_heads, int32_t kv_heads, int32_t dim, int32_t max_len) {
  return gpu::plan_decode_attention({batch, q_heads, kv_heads, dim, 1.0f}, max_len).workspace_bytes;
}

/// The cache tensors: uint8, contiguous, num_blocks·block_size·kv_heads records.
void expect_cache(const DevTensor& d, const char* name, int64_t cap, int64_t bytes) {
  expect_dtype(d, name, {"uint8"});
  expect_contiguous(d, name);
  if (d.numel() != cap * bytes)
    value_error(std::string(name) + " has " + std::to_string(d.numel()) + " bytes, expected " +
                std::to_string(cap * bytes) + " (num_blocks·block_size·kv_heads·record bytes)");
}

void gpu_append_kv(const PyCodec& k, const py::object& v, const py::handle& k_new, const py::object& v_new,
                   const py::handle& slots, const py::handle& k_cache, const py::object& v_cache, int32_t num_blocks,
                   int32_t block_size, int32_t kv_heads, const py::handle& flag, uintptr_t stream) {
  const CodecSpec* vs = v_spec_of(v);
  const DevTensor kn = dev_tensor(k_new, "k_new"), sl = dev_tensor(slots, "slot_mapping"),
                  kc = dev_tensor(k_cache, "k_cache"), ft = dev_tensor(flag, "flag");
  expect_dtype(kn, "k_new", {"float32", "bfloat16"});
  expect_contiguous(kn, "k_new");
  expect_dtype(sl, "slot_mapping", {"int64"});
  expect_contiguous(sl, "slot_mapping");
  expect_dtype(ft, "flag", {"int32"});
  const int64_t n = sl.numel();
  if (kn.numel() != n * kv_heads * k.spec.dim)
    value_error("k_new has " + std::to_string(kn.numel()) + " values, expected n·kv_heads·dim = " +
                std::to_string(n * kv_heads * k.spec.dim));
  const int64_t cap = static_cast<int64_t>(num_blocks) * block_size * kv_heads;
  expect_cache(kc, "k_cache", cap, k.spec.code_bytes());
  DevTensor vn = kn, vc;
  std::vector<std::pair<const DevTensor*, const char*>> all = {{&kn, "k_new"}, {&sl, "slot_mapping"},
                                                              {&kc, "k_cache"}, {&ft, "flag"}};
  if (vs) {
    vn = dev_tensor(v_new, "v_new");
    vc = dev_tensor(v_cache, "v_cache");
    if (vn.dtype != kn.dtype || vn.shape != kn.shape) value_error("v_new must have the dtype and shape of k_new");
    expect_contiguous(vn, "v_new");
    expect_cache(vc, "v_cache", cap, vs->code_bytes());
    all.push_back({&vn, "v_new"});
    all.push_back({&vc, "v_cache"});
  }
  cudaStream_t st = check_device(all, stream);
  const auto view = PagedKV<uint8_t>::storage(reinterpret_cast<uint8_t*>(kc.ptr), k.spec,
                                             vs ? reinterpret_cast<uint8_t*>(vc.ptr) : nullptr, vs, num_blocks,
                                             block_size, kv_heads);
  Status s;
  {
    py::gil_scoped_release nogil;
    if (kn.dtype == "bfloat16")
      s = gpu::append_kv<bf16>(k.spec, vs, reinterpret_cast<const bf16*>(kn.ptr), reinterpret_cast<const bf16*>(vn.ptr),
                               n, reinterpret_cast<const int64_t*>(sl.ptr), view, reinterpret_cast<int32_t*>(ft.ptr), st);
    else
      s = gpu::append_kv<float>(k.spec, vs, reinterpret_cast<const float*>(kn.ptr),
                                reinterpret_cast<const float*>(vn.ptr), n, reinterpret_cast<const int64_t*>(sl.ptr),
                                view, reinterpret_cast<int32_t*>(ft.ptr), st);
  }
  gpu_call_check(s);
}

void gpu_decode_attention(const PyCodec& k, const py::object& v, const py::handle& k_cache, const py::object& v_cache,
                          int32_t num_blocks, int32_t block_size, int32_t kv_heads, const py::handle& block_table,
                          const py::handle& seq_lens, const py::handle& q, const py::handle& out,
                          const py::handle& workspace, float scale, int32_t max_len, const py::handle& flag,
                          uintptr_t stream) {
  const CodecSpec* vs = v_spec_of(v);
  const DevTensor kc = dev_tensor(k_cache, "k_cache"), tb = dev_tensor(block_table, "block_table"),
                  ln = dev_tensor(seq_lens, "seq_lens"), qt = dev_tensor(q, "q"), ot = dev_tensor(out, "out"),
                  ws = dev_tensor(workspace, "workspace"), ft = dev_tensor(flag, "flag");
  const int64_t cap = static_cast<int64_t>(num_blocks) * block_size * kv_heads;
  expect_cache(kc, "k_cache", cap, k.spec.code_bytes());
  expect_dtype(tb, "block_table", {"int32"});
  expect_contiguous(tb, "block_table");
  expect_dtype(ln, "seq_lens", {"int32"});
  expect_contiguous(ln, "seq_lens");
  expect_dtype(qt, "q", {"float32", "bfloat16"});
  expect_contiguous(qt, "q");
  expect_dtype(ot, "out", {"float32"});
  expect_contiguous(ot, "out");
  expect_dtype(ws, "workspace", {"uint8"});
  expect_dtype(ft, "flag", {"int32"});
  if (qt.shape.size() != 3 || qt.shape[2] != k.spec.dim)
    value_error("q must be (batch, q_heads, " + std::to_string(k.spec.dim) + ")");
  if (ot.shape != qt.shape) value_error("out must have q's shape");
  const int32_t batch = static_cast<int32_t>(qt.shape[0]);
  if (tb.shape.size() != 2 || tb.shape[0] != batch || ln.numel() != batch)
    value_error("block_table must be (batch, max_blocks) and seq_lens (batch,) with batch = " + std::to_string(batch));
  std::vector<std::pair<const DevTensor*, const char*>> all = {{&kc, "k_cache"}, {&tb, "block_table"},
                                                              {&ln, "seq_lens"}, {&qt, "q"}, {&ot, "out"},
                                                              {&ws, "workspace"}, {&ft, "flag"}};
  DevTensor vc;
  if (vs) {
    vc = dev_tensor(v_cache, "v_cache");
    expect_cache(vc, "v_cache", cap, vs->code_bytes());
    all.push_back({&vc, "v_cache"});
  }
  cudaStream_t st = check_device(all, stream);
  const auto view = PagedKV<const uint8_t>::storage(reinterpret_cast<const uint8_t*>(kc.ptr), k.spec,
                                                   vs ? reinterpret_cast<const uint8_t*>(vc.ptr) : nullptr, vs,
                                                   num_blocks, block_size, kv_heads)
                        .with_table(reinterpret_cast<const int32_t*>(tb.ptr), static_cast<int32_t>(tb.shape[1]),
                                    reinterpret_cast<const int32_t*>(ln.ptr), batch);
  const AttentionShape s{batch, static_cast<int32_t>(qt.shape[1]), kv_heads, k.spec.dim, scale};
  Status rc;
  {
    py::gil_scoped_release nogil;
    if (qt.dtype == "bfloat16")
      rc = gpu::decode_attention<bf16, float>(k.spec, vs, view, s, max_len, reinterpret_cast<const bf16*>(qt.ptr),
                                              reinterpret_cast<float*>(ot.ptr), reinterpret_cast<void*>(ws.ptr),
                                              static_cast<size_t>(ws.numel()), reinterpret_cast<int32_t*>(ft.ptr), st);
    else
      rc = gpu::decode_attention<float, float>(k.spec, vs, view, s, max_len, reinterpret_cast<const float*>(qt.ptr),
                                               reinterpret_cast<float*>(ot.ptr), reinterpret_cast<void*>(ws.ptr),
                                               static_cast<size_t>(ws.numel()), reinterpret_cast<int32_t*>(ft.ptr), st);
  }
  gpu_call_check(rc);
}
#endif

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "KakeyaLattice C++ core (thin bindings)";
  const auto make_exc = [&](const char* name, PyObject* bases) {
    PyObject* cls = PyErr_NewException((std::string("kakeyalattice._core.") + name).c_str(), bases, nullptr);
    if (!cls) throw py::error_already_set();
    m.attr(name) = py::handle(cls);
    return cls;
  };
  g_kakeya_error = make_exc("KakeyaError", nullptr);
  g_value_error = make_exc("KakeyaValueError", py::make_tuple(py::handle(g_kakeya_error), py::handle(PyExc_ValueError)).release().ptr());
  g_corrupt_error = make_exc("KakeyaCorruptCode", py::make_tuple(py::handle(g_value_error)).release().ptr());
  g_type_error = make_exc("KakeyaTypeError", py::make_tuple(py::handle(g_kakeya_error), py::handle(PyExc_TypeError)).release().ptr());
  g_runtime_error = make_exc("KakeyaRuntimeError", py::make_tuple(py::handle(g_kakeya_error), py::handle(PyExc_RuntimeError)).release().ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const CorruptCode& e) {
      PyErr_SetString(g_corrupt_error, e.what());
    } catch (const InvalidArgument& e) {
      PyErr_SetString(g_value_error, e.what());
    } catch (const RuntimeFailure& e) {
      PyErr_SetString(g_runtime_error, e.what());
    }
  });
  m.attr("__version__") = KAKEYA_VERSION_STRING;
  m.attr("FORMAT_VERSION") = KAKEYA_FORMAT_VERSION;
#if defined(KAKEYA_WITH_CUDA)
  m.attr("WITH_CUDA") = true;
#else
  m.attr("WITH_CUDA") = false;
#endif

  py::class_<PyCodec>(m, "CodecCore")
      .def(py::init<const std::string&, int32_t, const CodecParams&>(), py::arg("family"), py::arg("dim"),
           py::arg("params"))
      .def_property_readonly("family", [](const PyCodec& c) { return std::string(c.spec.family()); })
      .def_property_readonly("params", [](const PyCodec& c) { return c.spec.params(); })
      .def_property_readonly("dim", [](const PyCodec& c) { return c.spec.dim; })
      .def_property_readonly("code_bytes", [](const PyCodec& c) { return c.spec.code_bytes(); })
      .def_property_readonly("bits_per_vector", [](const PyCodec& c) { return c.spec.bits_per_vector(); })
      .def_property_readonly("name", [](const PyCodec& c) { return c.spec.name(); })
      .def_property_readonly("bits_per_block", [](const PyCodec& c) -> int {
        return c.spec.kind == CodecKind::kLattice ? c.spec.layout().bits_per_block : 0;
      })
      .def("encode_into", &PyCodec::encode_into, py::arg("x"), py::arg("tag"), py::arg("codes"))
      .def("decode_into", &PyCodec::decode_into, py::arg("codes"), py::arg("out"), py::arg("tag"),
           py::arg("bad_rows") = py::none());

  py::class_<PyAffine>(m, "AffineCore")
      .def(py::init([](const F32In& mean, const std::optional<F32In>& scale, const std::optional<I32In>& pairs) {
             return PyAffine{ChannelAffine(vec_from("mean", mean),
                                           scale ? vec_from("scale", *scale) : std::vector<float>{}, pairs_from(pairs))};
           }),
           py::arg("mean"), py::arg("scale") = py::none(), py::arg("pairs") = py::none())
      .def_property_readonly("dim", [](const PyAffine& p) { return p.a.dim(); })
      .def_property_readonly("nfreq", [](const PyAffine& p) { return p.a.nfreq(); })
      .def_property_readonly("mean", [](const PyAffine& p) { return py::array_t<float>(p.a.mean().size(), p.a.mean().data()); })
      .def_property_readonly("scale", [](const PyAffine& p) -> py::object {
        if (!p.a.has_scale()) return py::none();
        return py::array_t<float>(p.a.scale().size(), p.a.scale().data());
      })
      .def_property_readonly("pairs", [](const PyAffine& p) {
        py::array_t<int32_t> out({static_cast<py::ssize_t>(p.a.pairs().size()), py::ssize_t{3}});
        int32_t* o = out.mutable_data();
        for (size_t j = 0; j < p.a.pairs().size(); ++j)
          o[3 * j] = p.a.pairs()[j].a, o[3 * j + 1] = p.a.pairs()[j].b, o[3 * j + 2] = p.a.pairs()[j].freq;
        return out;
      })
      .def("forward", [](const PyAffine& p, const F32In& x, const std::optional<F32In>& cos,
                         const std::optional<F32In>& sin) { return p.apply(x, cos, sin, false); },
           py::arg("x"), py::arg("cos") = py::none(), py::arg("sin") = py::none())
      .def("inverse", [](const PyAffine& p, const F32In& z, const std::optional<F32In>& cos,
                         const std::optional<F32In>& sin) { return p.apply(z, cos, sin, true); },
           py::arg("z"), py::arg("cos") = py::none(), py::arg("sin") = py::none())
      .def_static("fit", &affine_fit, py::arg("x"), py::arg("with_scale"), py::arg("pairs") = py::none(),
                  py::arg("cos") = py::none(), py::arg("sin") = py::none());

  m.def("codec_names", &codec_names);
  m.def("codec_families", [] {
    py::list out;
    for (const auto& f : codec_families()) {
      py::dict params;
      for (const auto& kv : f.params) params[kv.first] = kv.second[0] ? py::object(py::str(kv.second)) : py::none();
      out.append(py::make_tuple(f.name, params, f.summary));
    }
    return out;
  });
  m.def("nvfp4_tensor_scale", &nvfp4_tensor_scale, py::arg("amax"));

#if defined(KAKEYA_WITH_CUDA)
  m.def("gpu_available", &gpu::device_available);
  m.def("gpu_encode", &gpu_encode, py::arg("codec"), py::kw_only(), py::arg("x"), py::arg("codes"), py::arg("flag"),
        py::arg("stream"));
  m.def("gpu_decode", &gpu_decode, py::arg("codec"), py::kw_only(), py::arg("codes"), py::arg("out"), py::arg("flag"),
        py::arg("stream"));
  m.def("gpu_attention_workspace", &gpu_attention_workspace, py::kw_only(), py::arg("batch"), py::arg("q_heads"),
        py::arg("kv_heads"), py::arg("dim"), py::arg("max_len"));
  m.def("gpu_append_kv", &gpu_append_kv, py::arg("k_codec"), py::arg("v_codec"), py::kw_only(), py::arg("k_new"),
        py::arg("v_new"), py::arg("slot_mapping"), py::arg("k_cache"), py::arg("v_cache"), py::arg("num_blocks"),
        py::arg("block_size"), py::arg("kv_heads"), py::arg("flag"), py::arg("stream"));
  m.def("gpu_decode_attention", &gpu_decode_attention, py::arg("k_codec"), py::arg("v_codec"), py::kw_only(),
        py::arg("k_cache"), py::arg("v_cache"), py::arg("num_blocks"), py::arg("block_size"), py::arg("kv_heads"),
        py::arg("block_table"), py::arg("seq_lens"), py::arg("q"), py::arg("out"), py::arg("workspace"),
        py::arg("scale"), py::arg("max_len"), py::arg("flag"), py::arg("stream"));
#endif
  m.def("append_kv", &append_kv_host);
  m.def("attention_reference", &attention_reference_host);
  m.def("compare", &compare_f32, py::arg("x"), py::arg("x_hat"));
  m.def("per_vector", &per_vector_f32, py::arg("x"), py::arg("x_hat"));
  m.def("isa_info", [] {
    py::dict d;
    try {
      d["isa"] = cpu::to_string(cpu::active_isa());
    } catch (const InvalidArgument& e) {
      d["isa"] = py::none();
      d["isa_error"] = std::string(e.what());
    }
    py::list sup;
    for (cpu::Isa i : cpu::supported_isas()) sup.append(cpu::to_string(i));
    d["isa_supported"] = sup;
    d["isa_env"] = cpu::isa_env();
    // What the compile flags alone target (the "baseline" loops); anything above x86-64
    // or aarch64 means a KAKEYA_NATIVE / KAKEYA_ARCH_FLAGS build that is not portable.
#if defined(__AVX512F__)
    d["compiled_baseline"] = "avx512 (not portable)";
#elif defined(__AVX2__)
    d["compiled_baseline"] = "avx2 (not portable)";
#elif defined(__x86_64__)
    d["compiled_baseline"] = "x86-64";
#elif defined(__aarch64__)
    d["compiled_baseline"] = "aarch64";
#else
    d["compiled_baseline"] = "generic";
#endif
    return d;
  });
  m.def("set_isa", &cpu::set_isa, py::arg("name"));
  m.def("set_num_threads", &cpu::set_num_threads, py::arg("n"));
  m.def("num_threads", &cpu::num_threads);
  m.def("hadamard_rotate", &hadamard_rotate_rows, py::arg("x"));
  m.def("float_to_e4m3", &float_to_e4m3_array);
  m.def("e4m3_to_float", &e4m3_to_float_array);
  m.def("e8m0_to_float", &e8m0_to_float_array);
}
