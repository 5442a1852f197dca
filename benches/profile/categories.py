"""Where the time goes: folds `perf script` output into op kinds and phases.

    perf record -F 999 --call-graph dwarf,16384 -o perf.data -- \
        target/release/deps/compare-HASH --no-torch --only transformer --loop 200
    perf script -i perf.data --no-inline -F tid,period,ip,sym,dso | python3 benches/profile/categories.py

Each sample is charged to one op kind: the leaf function's when it names one (a GEMM kernel, the
allocator, rayon's scheduler, libm), otherwise the innermost Wengert frame's (the tensor kernel or
tape function that ran the code inlined into it). The phase is read off the stack: inside the
optimizer's `step`, inside `backward`, else forward. Samples of rayon's worker threads waiting for
work (idle spinning and sleeping) are counted apart, as the second core's idle time.
"""

import collections
import re
import sys

# (kind, pattern on a frame's symbol), tried in order on the leaf, then on every frame upward.
LEAF = [
    ("matmul (gemm kernels)", r"^gemm|gemm_f32|gemm_common|nano_gemm|matrixmultiply"),
    ("allocation, zeroing and copies", r"malloc|^free$|cfree|_int_free|_int_malloc|realloc|calloc|memcpy|memmove|memset|__mmap|munmap|madvise|alloc::raw_vec|sysmalloc|malloc_consolidate|unlink_chunk|tcache"),
    ("rayon fork-join and scheduling", r"rayon|crossbeam|sched_yield|futex|syscall|__lll_lock|pthread_cond|std::thread|parking"),
    ("elementwise math (libm: erf, exp, tanh)", r"^libm::|^(exp|expf|erf|erff|tanh|tanhf|log|logf|pow|powf|sqrt|sqrtf|__ieee754|__expf|__logf)"),
]
FRAME = [
    ("matmul (gemm kernels)", r"wengert_tensor::matmul|Tensor<F>>::matmul|::bmm|batched_matmul"),
    ("conv (im2col / col2im)", r"wengert_tensor::conv|conv2d|im2col|col2im"),
    ("pooling", r"wengert_tensor::pool|max_pool|avg_pool"),
    ("softmax / log-softmax", r"wengert_tensor::softmax|softmax"),
    ("reductions (sum, mean, var over axes)", r"wengert_tensor::reduce|sum_axes|mean_axes|reduce_to|sum_to|::sum\b|::mean\b|::var\b"),
    ("broadcasting elementwise (zip, IxDyn)", r"wengert_tensor::broadcast|wengert_tensor::kernel::zip|zip_owned|wengert_tensor::binary|ndarray::zip|Zip<"),
    ("elementwise unary (map)", r"wengert_tensor::kernel::map|map_owned|wengert_tensor::activation|wengert_tensor::elementwise|wengert_tensor::math|wengert_tensor::special|mapv|ndarray::impl_methods.*map"),
    ("copies, transposes, reshapes", r"wengert_tensor::shape_ops|wengert_tensor::rearrange|as_standard_layout|to_owned|wengert_tensor::join|wengert_tensor::index|assign|ndarray::.*copy"),
    ("random masks (dropout)", r"bernoulli|rand::|rand_core|StdRng|chacha|wengert_nn::rng"),
    ("optimizer (Adam)", r"wengert_nn::optim"),
    ("tape bookkeeping", r"wengert_tape::"),
    ("optimizer (Adam)", r"wengert_nn::optim"),
    ("layers (nn glue)", r"wengert_nn::"),
]
OPTIM = re.compile(r"wengert_nn::optim")
BACKWARD = re.compile(r"wengert_tape::sweep|Var<F>>::backward|drop_in_place<wengert_tape::gradients|drop_in_place<wengert_tape::tape::Tape")
STEP = re.compile(r"^compare::|^models::|^transformer::|workloads::models")
WORKER = re.compile(r"rayon_core::registry::WorkerThread|rayon_core::registry::main_loop")
OP = re.compile(r"wengert_tape::ops::([a-z_]+)")
LAYER = re.compile(r"wengert_nn::(?:layers|loss|optim)::[a-z_:]+::([A-Z][A-Za-z0-9]*)|wengert_nn::(loss)::")
IDLE = r"rayon_core::sleep|rayon_core::registry::WorkerThread::wait_until|main_loop|crossbeam_epoch|sched_yield|futex_wait"

leaf_re = [(k, re.compile(p)) for k, p in LEAF]
frame_re = [(k, re.compile(p)) for k, p in FRAME]
idle_re = re.compile(IDLE)
head_re = re.compile(r"^\s*(\d+)\s+(\d+)\s*$")


def op_label(sym):
    """The tape op (family) a frame belongs to, or None."""
    m = OP.search(sym)
    if m:
        return m.group(1)
    m = re.search(r"as wengert_tape::value::Value<F>>::([a-z_]+)", sym)
    if m:
        return "Value::" + m.group(1)
    if "wengert_tape::op::Op<F>::backward" in sym:
        return "Op::backward (rules inlined)"
    if "wengert_tape::sweep::sweep" in sym:
        return "sweep (gradient accumulation)"
    return None


def phase_of(stack):
    """The phase of a sample, from its stack: the optimizer's step, backward, or the rest of a
    training step (forward); jobs that another rayon worker stole have no step frames."""
    if any(OPTIM.search(s) for s in stack):
        return "optimizer"
    if any(BACKWARD.search(s) for s in stack):
        return "backward"
    if any(STEP.search(s) for s in stack):
        return "forward"
    if any(WORKER.search(s) for s in stack):
        return "stolen jobs"
    return "stack cut"


def classify(stack, dsos):
    """stack: symbols, leaf first; the kind of op the sample ran."""
    if dsos and "kernel" in dsos[0]:
        return "kernel (page faults of fresh memory, syscalls)"
    leaf = stack[0] if stack else "?"
    for kind, r in leaf_re:
        if r.search(leaf):
            return kind
    for s in stack:
        for kind, r in frame_re:
            if r.search(s):
                return kind
    return "other: " + leaf[:60]


def main():
    kinds = collections.Counter()
    phases = collections.Counter()
    by_phase_kind = collections.Counter()
    idle = 0
    total = 0
    stack, dsos, period, tid = [], [], 0, None
    leaves = collections.defaultdict(collections.Counter)
    ops, layers, full = collections.Counter(), collections.Counter(), [0]
    detail = "--detail" in sys.argv

    def flush():
        nonlocal idle, total
        if tid is None:
            return
        total += period
        if any(idle_re.search(s) for s in stack[:12]) and not any(
            re.search(r"gemm|wengert", s) for s in stack[:6]
        ):
            idle += period
            return
        kind, phase = classify(stack, dsos), phase_of(stack)
        leaves[kind][stack[0] if stack else "?"] += period
        if phase in ("forward", "backward", "optimizer"):
            op = next((label for label in map(op_label, stack) if label), "(no tape op)")
            layer = next((m.group(1) or m.group(2) for m in map(LAYER.search, stack) if m), "(no layer)")
            ops[(phase, op)] += period
            layers[(phase, layer)] += period
            full[0] += period
        kinds[kind] += period
        phases[phase] += period
        by_phase_kind[(phase, kind)] += period

    for line in sys.stdin:
        line = line.rstrip("\n")
        m = head_re.match(line)
        if m:
            flush()
            tid, period, stack, dsos = int(m.group(1)), int(m.group(2)), [], []
            continue
        parts = line.split(None, 1)
        if len(parts) == 2 and re.match(r"^[0-9a-f]+$", parts[0]):
            dso = re.search(r"\(([^)]*)\)$", parts[1])
            dsos.append(dso.group(1) if dso else "")
            sym = re.sub(r"\s+\([^)]*\)$", "", parts[1])  # drop "(dso)"
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            stack.append(sym)
    flush()
    busy = total - idle
    print(f"samples weighted: {total}; rayon workers idle: {100 * idle / total:.1f}% of all samples")
    print(f"\nbusy time by phase ({busy} = 100%):")
    for p, v in phases.most_common():
        print(f"  {p:<10} {100 * v / busy:5.1f}%")
    print("\nbusy time by op kind:")
    for k, v in kinds.most_common(25):
        print(f"  {100 * v / busy:5.1f}%  {k}")
        if detail:
            for leaf, n in leaves[k].most_common(4):
                print(f"           {100 * n / busy:5.1f}%  {leaf[:110]}")
    print("\nby phase and op kind (>= 1%):")
    for (p, k), v in sorted(by_phase_kind.items(), key=lambda kv: (kv[0][0], -kv[1])):
        if v / busy >= 0.01:
            print(f"  {p:<10} {100 * v / busy:5.1f}%  {k}")

    if full[0]:
        print(f"\nsamples with the whole stack (the stepping thread, {100 * full[0] / busy:.1f}% of busy):")
        print("  by phase and innermost tape op family (wengert_tape::ops::<family>):")
        for (p, o), v in sorted(ops.items(), key=lambda kv: -kv[1])[:20]:
            print(f"    {100 * v / full[0]:5.1f}%  {p:<9} {o}")
        print("  by phase and innermost layer:")
        for (p, l), v in sorted(layers.items(), key=lambda kv: -kv[1])[:20]:
            print(f"    {100 * v / full[0]:5.1f}%  {p:<9} {l}")


if __name__ == "__main__":
    main()
