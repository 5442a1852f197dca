"""PyTorch eager twins of Wengert's model workloads (benches/workloads/models.rs and W2 in
benches/workloads/mod.rs), timed one step at a time.

`cargo bench -p wengert-benches --bench compare` starts this script as a worker and alternates:
one Wengert step, one PyTorch step, ... It writes a workload's name on a line of the worker's
stdin; the worker runs one step (one epoch for `cnn`) and answers with one line, the seconds of
the whole step and of its forward, backward and optimizer phases.

Run alone, it prints PyTorch's medians by itself:

    /work/torchenv/bin/python benches/pytorch/compare.py [--steps 21] [--threads 2]

Definitions (f32, 2 threads, the same as Wengert's side):
  transformer  nn.TransformerEncoderLayer(128, 4, 512, 0.1, activation='gelu', batch_first=True,
               norm_first=True) on [16, 64, 128], MSE against a random target, Adam(lr=1e-3)
  cnn          one epoch of the digits CNN (conv 1->16, BN, ReLU, maxpool, conv 16->32, BN, ReLU,
               maxpool, linear 128->10) over 1437 images of data/digits.csv.gz, batches of 32,
               cross-entropy, Adam(lr=0.01)
  gru          nn.GRU(64, 128, batch_first=True) on [32, 50, 64], MSE of the last hidden state
               against a random target, Adam(lr=1e-3)
  w2           784-512-512-10 ReLU MLP on a batch of 128, cross-entropy, Adam(lr=1e-3)
"""

import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

NAMES = ["transformer", "cnn", "gru", "w2"]
DIGITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "digits.csv.gz")


def timed(model, opt, forward):
    """One training step: (total, forward, backward, optimizer) in seconds."""
    t0 = time.perf_counter()
    loss = forward()
    loss.item()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    opt.step()
    opt.zero_grad(set_to_none=True)
    t3 = time.perf_counter()
    return (t3 - t0, t1 - t0, t2 - t1, t3 - t2)


class Transformer:
    def __init__(self):
        torch.manual_seed(0)
        self.model = nn.TransformerEncoderLayer(
            128, 4, 512, 0.1, activation="gelu", batch_first=True, norm_first=True
        )
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.x = torch.randn(16, 64, 128)
        self.t = torch.randn(16, 64, 128)

    def step(self):
        return timed(self.model, self.opt, lambda: F.mse_loss(self.model(self.x), self.t))


class Cnn:
    def __init__(self, path):
        with gzip.open(path, "rt") as f:
            data = np.loadtxt(f, delimiter=",", dtype=np.float32)
        images = torch.from_numpy(data[:, :64] / 16.0).reshape(-1, 1, 8, 8)
        labels = torch.from_numpy(data[:, 64].astype(np.int64))
        n = len(labels)
        n_train = n - int(np.ceil(0.2 * n))  # as train_test_split(0.2) in Wengert
        order = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:n_train]
        images, labels = images[order].contiguous(), labels[order].contiguous()
        self.batches = [(images[i : i + 32], labels[i : i + 32]) for i in range(0, n_train, 32)]
        torch.manual_seed(0)
        self.model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(128, 10),
        )
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=0.01)

    def step(self):
        total = [0.0, 0.0, 0.0, 0.0]
        for x, y in self.batches:
            t = timed(self.model, self.opt, lambda: F.cross_entropy(self.model(x), y))
            total = [a + b for a, b in zip(total, t)]
        return tuple(total)


class Gru:
    def __init__(self):
        torch.manual_seed(0)
        self.model = nn.GRU(64, 128, batch_first=True)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.x = torch.randn(32, 50, 64)
        self.t = torch.randn(1, 32, 128)

    def step(self):
        return timed(self.model, self.opt, lambda: F.mse_loss(self.model(self.x)[1], self.t))


class W2:
    def __init__(self):
        torch.manual_seed(0)
        self.model = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
        )
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.x = torch.randn(128, 784)
        self.t = torch.randint(0, 10, (128,))

    def step(self):
        return timed(self.model, self.opt, lambda: F.cross_entropy(self.model(self.x), self.t))


def build(name, digits):
    if name == "transformer":
        return Transformer()
    if name == "cnn":
        return Cnn(digits)
    if name == "gru":
        return Gru()
    if name == "w2":
        return W2()
    raise SystemExit(f"compare.py: unknown workload {name!r} (expected one of {', '.join(NAMES)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", action="store_true", help="answer step requests on stdin")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--digits", default=DIGITS)
    parser.add_argument("--only", default=",".join(NAMES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_dtype(torch.float32)
    workloads = {}
    if args.worker:
        print(f"ready torch {torch.__version__} threads {torch.get_num_threads()}", flush=True)
        for line in sys.stdin:
            name = line.strip()
            if not name:
                continue
            if name not in workloads:
                workloads[name] = build(name, args.digits)
            t = workloads[name].step()
            print(" ".join(f"{v:.9f}" for v in t), flush=True)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {args.steps} (ms)")
    print(f"{'workload':<12} {'step':>9} {'forward':>9} {'backward':>9} {'optimizer':>9}")
    for name in args.only.split(","):
        w = build(name, args.digits)
        for _ in range(args.warmup):
            w.step()
        times = [w.step() for _ in range(args.steps)]
        med = [statistics.median(t[i] for t in times) * 1e3 for i in range(4)]
        print(f"{name:<12} {med[0]:>9.3f} {med[1]:>9.3f} {med[2]:>9.3f} {med[3]:>9.3f}")


if __name__ == "__main__":
    main()
