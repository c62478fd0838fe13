"""Training and top-20 inference speed of VASERRecommender beside a plain PyTorch VASER.

    python benchmarks/speed.py                            # one epoch on all 369,859 rows
    python benchmarks/speed.py --n-train-samples 51200    # quicker (a smaller vocabulary)
    python benchmarks/speed.py --threads 1 --repeats 3    # the median ratio of 3 runs
    python benchmarks/speed.py --full-fit                 # also a full default fit
    python benchmarks/speed.py --matmul-precision float32 # skvaser without bfloat16 products
    python benchmarks/speed.py --device cuda

Both models have the paper's sizes (item embedding 50, GRU hidden 100, latent 100, K = 16
amortised planar flows, batch 512, window 30) and run in this process on the same rows of
YOOCHOOSE 1/64: the first ``--n-train-samples`` training prefixes (default: all of them, so that
the softmax covers the paper's 17,376 items; fewer rows know fewer items) for one epoch of
training, every test prefix for top-20 inference. skvaser's side is the public estimator:
``fit`` (one epoch, no early stopping; checking, encoding and batching included) and
``predict``. The reference (:class:`ReferenceVASER` and the two functions after it) is what a
straightforward port looks like: rows left-padded to 30 clicks and a GRU run over all 30 steps
(the padding is masked out of the attention only), ``nn.Dropout``, a dense softmax over every
item, one Python loop over batches that reads the loss back every step, ``torch.topk`` over the
full score matrix of each batch of 512.

Set ``THP_MEM_ALLOC_ENABLE=1`` in the environment to let PyTorch put its large CPU tensors on
transparent huge pages (it reads the variable once, at its first allocation): the logits of the
full softmax (512 x 17,376 float32, 35.6 MB, above glibc's 32 MiB mmap threshold) are then not
mapped page by page every step. On this machine that halves the CPU time of the reference's
dense softmax and takes skvaser's blocked one with ``matmul_precision="float32"`` from 62 to 49
ms a step; with bfloat16 products (the default here) skvaser keeps a matrix of half the size,
below the threshold, which the variable does not change. The script prints whether it is set.

Printed per phase: samples/s, wall and CPU seconds, the peak growth of the resident memory
(CPU: the kernel's high-water mark, reset after ``malloc_trim``) or of the CUDA allocator, and
the ratio ours / reference of wall and of CPU seconds; the machine load (``os.getloadavg``)
along the way; with ``--full-fit`` the seconds, epochs and Recall@20 / MRR@20 of
``VASERRecommender(random_state=0)`` fitted on every training row. On a shared machine wall
times are noisy: the CPU-time ratio (with one thread, CPU seconds are what a quiet machine's
wall clock would show) and runs with ``--repeats`` say more.
"""

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from _data import DATA_HELP, data_file
from _machine import describe, load  # benchmarks/ is the script's folder
from torch import nn

from skvaser import VASERRecommender, sessions_to_prefixes
from skvaser.evaluation import load_train_test
from skvaser.metrics import mrr_at_k, recall_at_k

SIZES = {"embedding_dim": 50, "hidden_size": 100, "latent_dim": 100, "n_flows": 16}
BATCH_SIZE, WINDOW, BETA, K = 512, 30, 0.2, 20


# ---------------------------------------------------------------------------- the reference
class ReferenceVASER(nn.Module):
    """VASER written plainly: NARM encoder, Gaussian, amortised planar flows, bilinear decoder."""

    def __init__(self, n_items, embedding_dim, hidden_size, latent_dim, n_flows):
        super().__init__()
        self.n_flows, self.latent_dim = n_flows, latent_dim
        self.embedding = nn.Embedding(n_items + 1, embedding_dim, padding_idx=0)
        self.embedding_dropout = nn.Dropout(0.25)
        self.gru = nn.GRU(embedding_dim, hidden_size, batch_first=True)
        self.a1 = nn.Linear(hidden_size, hidden_size, bias=False)
        self.a2 = nn.Linear(hidden_size, hidden_size, bias=False)
        self.v = nn.Linear(hidden_size, 1, bias=False)
        self.mean = nn.Linear(hidden_size, latent_dim)
        self.log_var = nn.Linear(hidden_size, latent_dim)
        self.flow_u = nn.Linear(hidden_size, n_flows * latent_dim)
        self.flow_w = nn.Linear(hidden_size, n_flows * latent_dim)
        self.flow_b = nn.Linear(hidden_size, n_flows)
        self.context_dropout = nn.Dropout(0.5)
        self.bilinear = nn.Linear(latent_dim + hidden_size, embedding_dim, bias=False)

    def forward(self, x):
        """Scores (B, n_items) of left-padded prefixes ``x`` (B, 30), and the regulariser (B,)."""
        mask = (x != 0).float()
        states, last = self.gru(self.embedding_dropout(self.embedding(x)))
        h_t = last[0]
        weights = self.v(torch.sigmoid(self.a1(h_t)[:, None, :] + self.a2(states))).squeeze(2)
        c_l = ((weights * mask)[:, :, None] * states).sum(dim=1)

        mean, log_var = self.mean(h_t), self.log_var(h_t)
        eps = torch.randn_like(mean)
        z = mean + torch.exp(0.5 * log_var) * eps if self.training else mean
        shape = (len(x), self.n_flows, self.latent_dim)
        u, w, b = self.flow_u(h_t).view(shape), self.flow_w(h_t).view(shape), self.flow_b(h_t)
        log_det = torch.zeros(len(x), device=x.device)
        for k in range(self.n_flows):
            u_k, w_k, b_k = u[:, k], w[:, k], b[:, k : k + 1]
            wu = (w_k * u_k).sum(dim=1, keepdim=True)
            u_hat = u_k + (F.softplus(wu) - 1 - wu) * w_k / (w_k**2).sum(dim=1, keepdim=True)
            activation = torch.tanh((z * w_k).sum(dim=1, keepdim=True) + b_k)
            psi_u = (1 - activation**2) * (w_k * u_hat).sum(dim=1, keepdim=True)
            log_det = log_det + torch.log(torch.abs(1 + psi_u) + 1e-8).squeeze(1)
            z = z + u_hat * activation

        decoded = self.context_dropout(torch.cat([z, c_l], dim=1))
        scores = self.bilinear(decoded) @ self.embedding.weight[1:].T
        regularization = 0.5 * (z.pow(2) - log_var - eps.pow(2)).sum(dim=1) - log_det
        return scores, regularization


def reference_codes(items, X):
    """Item ids -> codes 1..n_items (0: padding or unknown), rows left-padded to the window."""
    position = np.clip(np.searchsorted(items, X), 0, len(items) - 1)
    return torch.as_tensor(np.where(items[position] == X, position + 1, 0))


def reference_fit(X, y, device, seed=0):
    """One epoch of Adam over shuffled batches of padded rows; returns (model, items)."""
    torch.manual_seed(seed)
    items = np.unique(y)
    codes = reference_codes(items, X).to(device)
    targets = torch.as_tensor(np.searchsorted(items, y)).to(device)  # 0..n_items-1
    model = ReferenceVASER(len(items), **SIZES).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    model.train()
    order = torch.randperm(len(codes)).to(device)
    total = 0.0
    for begin in range(0, len(codes), BATCH_SIZE):
        batch = order[begin : begin + BATCH_SIZE]
        scores, regularization = model(codes[batch])
        loss = F.cross_entropy(scores, targets[batch]) + BETA * regularization.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return model, items


@torch.no_grad()
def reference_predict(model, items, X, device):
    model.eval()
    codes = reference_codes(items, X).to(device)
    out = []
    for begin in range(0, len(codes), BATCH_SIZE):
        scores, _ = model(codes[begin : begin + BATCH_SIZE])
        out.append(torch.topk(scores, K, dim=1).indices.cpu())
    return items[torch.cat(out).numpy()]


# ---------------------------------------------------------------------------- measuring
class Measured:
    """Wall and CPU seconds, and the peak memory growth (bytes) of a block, on the CPU or CUDA.

    On the CPU the peak is the kernel's high-water mark of the resident memory (``VmHWM``),
    reset at the start of the block: no sampling thread competes for the interpreter with the
    timed code (one that read the memory every 2 ms slowed skvaser's many small operations by
    about a tenth, and the reference's few large ones hardly at all).
    """

    def __init__(self, device):
        self.device = torch.device(device)

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        else:
            _release_free_memory()
            self._base = _resident_bytes("VmRSS")
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")  # resets VmHWM to the current resident size
        self._started, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.seconds = time.perf_counter() - self._started
        self.cpu_seconds = time.process_time() - self._cpu
        if self.device.type == "cuda":
            self.memory = torch.cuda.max_memory_allocated(self.device) - self._base
        else:
            self.memory = _resident_bytes("VmHWM") - self._base


def _resident_bytes(field):
    """``VmRSS`` (resident memory) or ``VmHWM`` (its peak) of this process, from Linux's
    ``/proc/self/status``."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _release_free_memory():
    """Hand freed heap memory back to the OS (glibc), so that RSS growth measures each phase."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def one_run(X_train, y_train, X_test, y_test, device, precision, reference_first):
    """Train and predict with both; returns {phase: (ours Measured, reference Measured)}."""
    ours = VASERRecommender(**SIZES, batch_size=BATCH_SIZE, max_iter=1, early_stopping=False,
                            device=device, matmul_precision=precision, random_state=0)

    def train_ours():
        with Measured(device) as m:
            ours.fit(X_train, y_train)
        return m

    def train_reference():
        with Measured(device) as m:
            m.model = reference_fit(X_train, y_train, device)
        return m

    def predict_ours():
        with Measured(device) as m:
            m.predicted = ours.predict(X_test)
        return m

    def predict_reference():
        with Measured(device) as m:
            m.predicted = reference_predict(*trained[1].model, X_test, device)
        return m

    def in_order(first, second):
        """Both phases, ``(ours, reference)``, run in the order this run asks for."""
        if reference_first:
            return tuple(reversed([second(), first()]))
        return first(), second()

    trained = in_order(train_ours, train_reference)
    predicted = in_order(predict_ours, predict_reference)
    print(f"  {ours.n_items_} items, matmul_precision_={ours.matmul_precision_!r}; "
          f"Recall@20 after one epoch: ours "
          f"{100 * recall_at_k(y_test, predicted[0].predicted):.2f}, reference "
          f"{100 * recall_at_k(y_test, predicted[1].predicted):.2f}", flush=True)
    return {"training": trained, "inference": predicted}


def warm_up(X_train, y_train, X_test, device):
    """One small fit and predict of each, so that neither pays the libraries' first calls."""
    rows = 4 * BATCH_SIZE
    with warnings.catch_warnings():  # the test rows hold items these few training rows lack
        warnings.simplefilter("ignore", UserWarning)
        VASERRecommender(max_iter=1, early_stopping=False, device=device, random_state=0).fit(
            X_train[:rows], y_train[:rows]
        ).predict(X_test[:rows])
    reference_predict(*reference_fit(X_train[:rows], y_train[:rows], device), X_test[:rows], device)


def full_fit(train, test, device, precision):
    X, y, _ = sessions_to_prefixes(*train, max_len=WINDOW)
    X_test, y_test, _ = sessions_to_prefixes(*test, max_len=WINDOW)
    model = VASERRecommender(random_state=0, device=device, matmul_precision=precision, verbose=1)
    print(f"\nfull default fit: VASERRecommender(random_state=0, matmul_precision={precision!r}), "
          f"{len(X)} rows ({load()})")
    with Measured(device) as fitting:
        model.fit(X, y)
    with Measured(device) as predicting:
        predicted = model.predict(X_test)
    recall, mrr = recall_at_k(y_test, predicted), mrr_at_k(y_test, predicted)
    print(f"fit {fitting.seconds:.0f} s (CPU {fitting.cpu_seconds:.0f} s, {model.n_iter_} epochs), "
          f"predict {predicting.seconds:.1f} s "
          f"(CPU {predicting.cpu_seconds:.1f} s) for {len(X_test)} test prefixes: Recall@20 "
          f"{100 * recall:.2f} MRR@20 {100 * mrr:.2f} ({load()})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="yoochoose1_64", help=DATA_HELP)
    parser.add_argument("--n-train-samples", type=int, help="default: every training prefix")
    parser.add_argument("--n-test-samples", type=int, help="default: every test prefix")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=1, help="runs; the median ratio is kept")
    parser.add_argument("--full-fit", action="store_true")
    parser.add_argument("--matmul-precision", default="auto",
                        choices=["auto", "float32", "bfloat16"], help="skvaser's (default: auto)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    train, test, _ = load_train_test(data_file(args.data))
    X_train, y_train, _ = sessions_to_prefixes(*train, max_len=WINDOW)
    X_test, y_test, _ = sessions_to_prefixes(*test, max_len=WINDOW)
    X_train, y_train = X_train[: args.n_train_samples], y_train[: args.n_train_samples]
    X_test, y_test = X_test[: args.n_test_samples], y_test[: args.n_test_samples]
    device = torch.device(args.device)
    card = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    huge_pages = os.environ.get("THP_MEM_ALLOC_ENABLE", "0")
    print(describe(), flush=True)
    print(f"torch {torch.__version__}, {device.type} ({card or platform.machine()}), "
          f"{torch.get_num_threads()} threads, THP_MEM_ALLOC_ENABLE={huge_pages}, "
          f"{len(X_train)} training rows, {len(X_test)} test rows ({load()})", flush=True)

    warm_up(X_train, y_train, X_test, device)
    ratios = {"training": [], "inference": []}
    for repeat in range(args.repeats):
        print(f"run {repeat + 1} ({load()})", flush=True)
        results = one_run(X_train, y_train, X_test, y_test, device, args.matmul_precision,
                          repeat % 2 == 1)
        for phase, n in (("training", len(X_train)), ("inference", len(X_test))):
            ours, reference = results[phase]
            ratio = reference.seconds / ours.seconds
            cpu_ratio = reference.cpu_seconds / ours.cpu_seconds
            ratios[phase].append((ratio, cpu_ratio))
            print(f"  {phase:9s} " + "   ".join(
                f"{name} {n / m.seconds:6.0f} samples/s ({m.seconds:6.1f} s, CPU "
                f"{m.cpu_seconds:6.1f} s, peak +{m.memory / 2**20:4.0f} MiB)"
                for name, m in (("ours", ours), ("reference", reference))
            ) + f"   ours / reference: {ratio:4.2f}x wall, {cpu_ratio:4.2f}x CPU", flush=True)
    print("median ratio ours / reference (wall, CPU): " + ", ".join(
        f"{phase} {statistics.median(r[0] for r in ratios[phase]):.2f}x, "
        f"{statistics.median(r[1] for r in ratios[phase]):.2f}x" for phase in ratios
    ) + f" ({load()})")
    if args.full_fit:
        full_fit(train, test, device, args.matmul_precision)


if __name__ == "__main__":
    main()
