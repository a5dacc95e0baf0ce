// Scatter-add and gather along one axis: the backward of embedding and index_select (index_add), and
// gather and its adjoint scatter_add. NumPy's add.at, the reference, runs a generic loop per element that
// costs ~10 ns; here each addition is a plain (vectorised, for contiguous rows) add.
//
// Repeated indices add up in a fixed order: every element receives its contributions in increasing order of
// their position in the index, as with add.at, so results are deterministic and equal NumPy's bit for bit.
// Threads never share an output element: each owns a block of the output (see the two kernels) and keeps that
// order within it.
#include <string>

#include "kernels.h"

namespace minitorch {

namespace {

// Whether an int64 array (rank >= 1, any strides) holds a value outside [0, size), and the first such in *value.
// Each row is first tested without a branch: v | (size - 1 - v) is negative exactly when v is outside, so an OR
// over the row (a loop the compiler vectorises) tells; only a row that fails is searched.
bool first_outside(const int64_t* p, const int64_t* shape, const int64_t* strides, int nd, int64_t size,
                   int64_t* value) {
    const int64_t n = shape[0], step = strides[0];
    if (nd > 1) {
        for (int64_t k = 0; k < n; ++k)
            if (first_outside(p + k * step, shape + 1, strides + 1, nd - 1, size, value)) return true;
        return false;
    }
    const uint64_t last = uint64_t(size - 1);  // unsigned: the subtraction wraps instead of overflowing
    uint64_t any = 0;
    if (step == 1) {
#pragma omp simd reduction(| : any)
        for (int64_t k = 0; k < n; ++k) any |= uint64_t(p[k]) | (last - uint64_t(p[k]));
    } else {
        for (int64_t k = 0; k < n; ++k) any |= uint64_t(p[k * step]) | (last - uint64_t(p[k * step]));
    }
    if (!(any >> 63)) return false;
    for (int64_t k = 0;; ++k) {
        if (p[k * step] < 0 || p[k * step] >= size) {
            *value = p[k * step];
            return true;
        }
    }
}

// Raises IndexError when `index` holds a value outside [0, size): checked before anything is written.
void check_range(const Strided<int64_t>& index, int64_t size, int64_t axis, const char* kernel) {
    int64_t value = 0;
    if (first_outside(index.data, index.shape.data(), index.strides.data(), int(index.shape.size()), size, &value))
        throw py::index_error(std::string(kernel) + ": index " + std::to_string(value) +
                              " is out of bounds for dimension " + std::to_string(axis) + " with size " +
                              std::to_string(size));
}

// An output array: writable, of dtype T, aligned; returns its view and sets *data to its first element.
template <typename T>
Strided<T> writable(const py::array& out, const char* kernel, T** data) {
    if (!out.writeable()) throw py::value_error(std::string(kernel) + ": out is read-only");
    auto view = strided<T>(out, kernel, "out");
    *data = static_cast<T*>(const_cast<void*>(out.data()));
    return view;
}

// Raises ValueError unless `axis` is a dim of `a` (the Python side has normalised negative dims already).
py::ssize_t checked_axis(int64_t axis, const py::array& a, const char* kernel, const char* name) {
    if (axis < 0 || axis >= a.ndim())
        throw py::value_error(std::string(kernel) + ": axis " + std::to_string(axis) + " is out of range for " + name +
                              " of shape " + shape_str(a));
    return py::ssize_t(axis);
}

// dst += src over the block `dims` (operand 0: dst, 1: src) from merged dim d on, one dim per level; the last
// dim is a loop the compiler vectorises when both rows are contiguous.
template <typename T>
void add_block(T* dst, const T* src, const MergedDims<2>& dims, size_t d) {
    const int64_t n = dims.shape[d], sd = dims.strides[d][0], ss = dims.strides[d][1];
    if (d + 1 < dims.shape.size()) {
        for (int64_t k = 0; k < n; ++k) add_block(dst + k * sd, src + k * ss, dims, d + 1);
    } else if (sd == 1 && ss == 1) {
#pragma omp simd
        for (int64_t k = 0; k < n; ++k) dst[k] += src[k];
    } else {
        for (int64_t k = 0; k < n; ++k) dst[k * sd] += src[k * ss];
    }
}

// out (outer..., N, inner...) += src (outer..., M, inner...) with src's slice m added at out's slice index[m].
// Threads split the outer positions when there are enough of them; otherwise (an embedding table: no outer
// dims) each thread owns a range of the N output slices and walks the whole index, skipping the others' rows.
template <typename T>
void index_add_kernel(T* out, const Strided<T>& o, int64_t axis, const Strided<int64_t>& index, const Strided<T>& s) {
    const int nd = int(o.shape.size()), a = int(axis);
    const MergedDims<2> outer(o.shape.data(), {o.strides.data(), s.strides.data()}, a);
    const MergedDims<2> inner(o.shape.data() + a + 1, {o.strides.data() + a + 1, s.strides.data() + a + 1}, nd - a - 1);
    const int64_t N = o.shape[axis], M = s.shape[axis], so = o.strides[axis], ss = s.strides[axis];
    const int64_t* idx = index.data;
    const int64_t is = index.strides[0], positions = outer.count(), block = inner.count(), work = positions * M * block;
#pragma omp parallel num_threads(kernel_threads()) if (work > kParallelWork)
    {
        int64_t threads = 1, t = 0;
#ifdef _OPENMP
        threads = omp_get_num_threads(), t = omp_get_thread_num();
#endif
        const bool split_outer = positions >= threads;
        const int64_t p0 = split_outer ? positions * t / threads : 0, p1 = split_outer ? positions * (t + 1) / threads
                                                                                       : positions;
        const int64_t lo = split_outer ? 0 : N * t / threads, hi = split_outer ? N : N * (t + 1) / threads;
        for (int64_t p = p0; p < p1; ++p) {
            const auto [oo, os] = outer.offsets(p);
            T* dst = out + oo;
            const T* src = s.data + os;
            if (block == 1) {  // single elements, as in index_add along the last dim
                for (int64_t m = 0; m < M; ++m) {
                    const int64_t i = idx[m * is];
                    if (i >= lo && i < hi) dst[i * so] += src[m * ss];
                }
            } else {
                for (int64_t m = 0; m < M; ++m) {
                    const int64_t i = idx[m * is];
                    if (i >= lo && i < hi) add_block(dst + i * so, src + m * ss, inner, 0);
                }
            }
        }
    }
}

// Walks every position p of the index in row-major order, within [begin[d], end[d]) on each dim, and calls
// leaf(offset of p in the plain array, offset in the indexed array but for the axis, index[p]). The indexed
// array steps with p on every dim except `axis`, where the index value takes over.
template <typename Leaf>
void walk(const int64_t* begin, const int64_t* end, const int64_t* plain, const int64_t* indexed,
          const Strided<int64_t>& index, int64_t axis, int d, int64_t po, int64_t xo, int64_t io, Leaf& leaf) {
    const int64_t sp = plain[d], sx = d == axis ? 0 : indexed[d], si = index.strides[d];
    if (d + 1 < int(index.shape.size())) {
        for (int64_t k = begin[d]; k < end[d]; ++k)
            walk(begin, end, plain, indexed, index, axis, d + 1, po + k * sp, xo + k * sx, io + k * si, leaf);
    } else {
        const int64_t* at = index.data + io;
        for (int64_t k = begin[d]; k < end[d]; ++k) leaf(po + k * sp, xo + k * sx, at[k * si]);
    }
}

// Runs leaf at every position of the index, threads splitting the first dim other than `axis` that has more
// than one position: positions that differ there reach different elements of the indexed array, and each
// thread keeps the row-major order within its block.
template <typename Leaf>
void along_index(const int64_t* plain, const int64_t* indexed, const Strided<int64_t>& index, int64_t axis,
                 Leaf leaf) {
    const std::vector<int64_t>& shape = index.shape;
    const int nd = int(shape.size());
    int64_t count = 1;
    int split = -1;
    for (int d = 0; d < nd; ++d) {
        count *= shape[d];
        if (split < 0 && d != axis && shape[d] > 1) split = d;
    }
    if (count == 0) return;
#pragma omp parallel num_threads(kernel_threads()) if (split >= 0 && count > kParallelWork)
    {
        int64_t threads = 1, t = 0;
#ifdef _OPENMP
        threads = omp_get_num_threads(), t = omp_get_thread_num();
#endif
        std::vector<int64_t> begin(nd, 0), end(shape);
        if (split >= 0) {
            begin[split] = shape[split] * t / threads;
            end[split] = shape[split] * (t + 1) / threads;
        }
        if (split >= 0 || t == 0) walk(begin.data(), end.data(), plain, indexed, index, axis, 0, 0, 0, 0, leaf);
    }
}

// The checks gather and scatter_add share: an index of the indexed array's rank, no larger than it on the dims
// other than axis, whose values lie inside it along axis. Returns the index's view.
Strided<int64_t> checked_index(const py::array& indexed, const py::array& index, py::ssize_t axis,
                               const char* kernel, const char* indexed_name) {
    check_rank(index, indexed.ndim(), kernel, "index");
    for (py::ssize_t d = 0; d < index.ndim(); ++d)
        if (d != axis && index.shape(d) > indexed.shape(d))
            throw py::value_error(std::string(kernel) + ": index of shape " + shape_str(index) +
                                  " is larger than " + indexed_name + " of shape " + shape_str(indexed) +
                                  " at dimension " + std::to_string(d));
    auto idx = strided<int64_t>(index, kernel, "index");
    check_range(idx, indexed.shape(axis), axis, kernel);
    return idx;
}

}  // namespace

void index_add(const py::array& out, int64_t axis, const py::array& index, const py::array& src) {
    const char* kernel = "index_add";
    const py::ssize_t a = checked_axis(axis, out, kernel, "out");
    check_rank(index, 1, kernel, "index");
    check_rank(src, out.ndim(), kernel, "src");
    for (py::ssize_t d = 0; d < out.ndim(); ++d)
        check_dim(src, d, d == a ? index.shape(0) : out.shape(d), kernel, "src");
    auto idx = strided<int64_t>(index, kernel, "index");
    check_range(idx, out.shape(a), a, kernel);
    dispatch_float(out, kernel, [&](auto zero) {
        using T = decltype(zero);
        T* data;
        auto o = writable<T>(out, kernel, &data);
        auto s = strided<T>(src, kernel, "src");
        py::gil_scoped_release unlocked;
        index_add_kernel(data, o, a, idx, s);
        return 0;
    });
}

void scatter_add(const py::array& out, int64_t axis, const py::array& index, const py::array& src) {
    const char* kernel = "scatter_add";
    const py::ssize_t a = checked_axis(axis, out, kernel, "out");
    auto idx = checked_index(out, index, a, kernel, "out");
    check_rank(src, index.ndim(), kernel, "src");
    for (py::ssize_t d = 0; d < index.ndim(); ++d) check_dim(src, d, index.shape(d), kernel, "src");
    dispatch_float(out, kernel, [&](auto zero) {
        using T = decltype(zero);
        T* data;
        auto o = writable<T>(out, kernel, &data);
        auto s = strided<T>(src, kernel, "src");
        const T* from = s.data;
        const int64_t step = o.strides[a];
        py::gil_scoped_release unlocked;
        along_index(s.strides.data(), o.strides.data(), idx, a,
                    [=](int64_t ps, int64_t po, int64_t i) { data[po + i * step] += from[ps]; });
        return 0;
    });
}

py::array gather(const py::array& x, int64_t axis, const py::array& index) {
    const char* kernel = "gather";
    const py::ssize_t a = checked_axis(axis, x, kernel, "input");
    auto idx = checked_index(x, index, a, kernel, "input");
    return dispatch_float(x, kernel, [&](auto zero) -> py::array {
        using T = decltype(zero);
        auto in = strided<T>(x, kernel, "input");
        py::array_t<T> y(idx.shape);
        std::vector<int64_t> contiguous(idx.shape.size(), 1);
        for (int d = int(idx.shape.size()) - 2; d >= 0; --d) contiguous[d] = contiguous[d + 1] * idx.shape[d + 1];
        T* to = y.mutable_data();
        const T* from = in.data;
        const int64_t step = in.strides[a];
        {
            py::gil_scoped_release unlocked;
            along_index(contiguous.data(), in.strides.data(), idx, a,
                        [=](int64_t py_, int64_t px, int64_t i) { to[py_] = from[px + i * step]; });
        }
        return y;
    });
}

}  // namespace minitorch
