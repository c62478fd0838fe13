"""What the trainer's reused score memory saves: a ScoreBuffer against new memory every step.

    python benchmarks/score_buffer.py                                       # the softmax alone
    python benchmarks/score_buffer.py --matmul-precision float32            # float32 products only
    python benchmarks/score_buffer.py --fit --matmul-precision float32      # one-epoch fits
    python benchmarks/score_buffer.py --fit --data diginetica
    ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 \\
        python benchmarks/score_buffer.py --fit --matmul-precision float32  # AVX2 kernels

The full softmax keeps a (batch, n_items) matrix from each step's forward pass to its backward
pass. Above 32 MiB (512 x 17,376 float32 scores, 512 x 43,097 bfloat16 ones) glibc maps such a
matrix fresh from the kernel at every allocation, which zeroes it page by page, and unmaps it at
every free; the trainer therefore lends every step the memory of one
:class:`skvaser.nn.softmax.ScoreBuffer`. "new memory" below is the code before it: the buffer's
``take`` replaced by ``torch.empty``, the arithmetic unchanged.

Without ``--fit``: loss and both gradients of ``item_cross_entropy`` (batch 512, dimension 50)
at the item counts of YOOCHOOSE 1/64 and DIGINETICA, in float32 and bfloat16 products (or only
those of ``--matmul-precision``: bfloat16 is emulated, a second a step, on a CPU without its
instructions); milliseconds per step, the median of 5 blocks of 10 steps, the two variants
alternated twice.
With ``--fit``: one-epoch fits of ``VASERRecommender(random_state=0, max_iter=1)`` on every
training prefix of ``--data``, the two variants alternated ``--repeats`` times in this process;
seconds of each fit and its loss (the same for both: the buffer changes no result).
"""

import argparse
import statistics
import time
from contextlib import contextmanager

import torch
from _data import DATA_HELP, data_file
from _machine import describe  # benchmarks/ is the script's folder

from skvaser import VASERRecommender, sessions_to_prefixes
from skvaser.evaluation import load_train_test
from skvaser.nn.softmax import ScoreBuffer, item_cross_entropy

BATCH, DIM = 512, 50
ITEM_COUNTS = {"YOOCHOOSE 1/64": 17_376, "DIGINETICA": 43_097}
PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@contextmanager
def new_memory():
    """Every step allocates its score matrix anew, as before the buffer."""
    take = ScoreBuffer.take
    ScoreBuffer.take = lambda self, rows, columns, dtype, device: torch.empty(
        rows, columns, dtype=dtype, device=device
    )
    try:
        yield
    finally:
        ScoreBuffer.take = take


@contextmanager
def the_buffer():
    """The trainer's :class:`ScoreBuffer`, as shipped."""
    yield


def variants(repeats):
    """``(name, context)`` of the two variants, alternated ``repeats`` times."""
    return [("ScoreBuffer", the_buffer), ("new memory", new_memory)] * repeats


def softmax_alone(precisions):
    for data, n_items in ITEM_COUNTS.items():
        for precision in precisions:
            dtype = PRECISIONS[precision]
            generator = torch.Generator().manual_seed(0)
            query = torch.randn(BATCH, DIM, generator=generator, requires_grad=True)
            weights = (0.2 * torch.randn(n_items, DIM, generator=generator)).requires_grad_()
            target = torch.randint(n_items, (BATCH,), generator=generator)
            buffer = ScoreBuffer()

            def step():
                item_cross_entropy(query, weights, target, dtype, buffer).backward()
                buffer.release()

            times = {}
            for name, context in variants(2):
                with context():
                    for _ in range(3):
                        step()
                    blocks = []
                    for _ in range(5):
                        started = time.perf_counter()
                        for _ in range(10):
                            step()
                        blocks.append((time.perf_counter() - started) * 100)
                times.setdefault(name, []).append(statistics.median(blocks))
            print(
                f"{data} ({n_items:,} items), {precision} products: "
                + ", ".join(f"{name} {' and '.join(f'{t:.1f}' for t in ts)} ms"
                            for name, ts in times.items()),
                flush=True,
            )


def one_epoch_fits(data, precision, repeats):
    train, _, _ = load_train_test(data_file(data))
    X, y, _ = sessions_to_prefixes(*train, max_len=30)
    for name, context in variants(repeats):
        model = VASERRecommender(random_state=0, max_iter=1, matmul_precision=precision)
        with context():
            started = time.perf_counter()
            model.fit(X, y)
        print(
            f"{data}, {model.n_items_:,} items, {len(X):,} prefixes, "
            f"{model.matmul_precision_} products: {name} {time.perf_counter() - started:.1f} s, "
            f"loss {model.loss_curve_[0]:.6f}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="one-epoch fits, not the softmax alone")
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    parser.add_argument("--matmul-precision", default="auto", choices=["auto", *PRECISIONS])
    parser.add_argument("--repeats", type=int, default=2, help="pairs of fits (with --fit)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(describe(), flush=True)
    if args.fit:
        one_epoch_fits(args.data, args.matmul_precision, args.repeats)
    else:
        auto = args.matmul_precision == "auto"
        softmax_alone(list(PRECISIONS) if auto else [args.matmul_precision])
    print(describe(), flush=True)


if __name__ == "__main__":
    main()
