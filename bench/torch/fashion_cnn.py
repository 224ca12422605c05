#!/usr/bin/python3
"""The PyTorch side of bench_fashion_cnn: a small CNN trained on Fashion-MNIST, its test accuracy per seed.

The same run as

    ./clreg train --arch 'conv16k5, maxpool2, conv32k5, maxpool2, dense128' --stream split --tasks 1 \\
                  --epochs 2 --seed N

that is: one task of all 10 classes; conv 16 5x5, max-pool 2, conv 32 5x5, max-pool 2 (no padding), dense 128,
a 10-way linear head, ReLU after every conv and dense layer; Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), batch
128 (the last batch of an epoch smaller, as clreg's), 2 epochs over the 60,000 training images reshuffled
every epoch; inputs x/255, no normalization; PyTorch's default initialization (uniform in +-1/sqrt(fan_in) for
weights and biases, the same distribution as clreg's). The test accuracy is over the 10,000 test images.

Prints one line per seed, "seed N accuracy A seconds T", then "mean M std S" (the sample standard deviation
over the seeds). Run with Debian's /usr/bin/python3 (python3-torch); `make bench` installs it.

With --start DIR it also trains once from clreg's initial parameters (DIR/init.f32, flat in PyTorch's order)
with clreg's batch order (DIR/order.i32: the training images of every epoch, in the order clreg's training
loop takes them) and prints "same_start accuracy A": a run that differs from clreg's only by the arithmetic,
where the seeds' runs differ by their initializations and shuffles too.
"""
import argparse
import gzip
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION = "/usr/share/datasets/fashion-mnist"  # Debian's dataset-fashion-mnist, the default of clreg too


def read_idx(path):
    """An IDX file, gzip'd or raw: uint8 images (n, rows, cols) or labels (n,)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic = int.from_bytes(data[0:4], "big")
    if magic == 0x803:
        n, rows, cols = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows, cols)
    if magic == 0x801:
        n = int.from_bytes(data[4:8], "big")
        return np.frombuffer(data, dtype=np.uint8, offset=8)[:n]
    sys.exit("fashion_cnn.py: %s: not an IDX image or label file (magic 0x%08x)" % (path, magic))


def load_split(root, prefix):
    def find(name):
        for p in (os.path.join(root, name + ".gz"), os.path.join(root, name)):
            if os.path.exists(p):
                return p
        sys.exit("fashion_cnn.py: %s: no %s[.gz] (install dataset-fashion-mnist, or pass --data DIR)"
                 % (root, name))
    x = read_idx(find(prefix + "-images-idx3-ubyte"))
    y = read_idx(find(prefix + "-labels-idx1-ubyte"))
    x = torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)  # x/255, nothing else
    return x, torch.from_numpy(y.astype(np.int64))


def fashion_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),    # 16 x 12 x 12
        nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),   # 32 x 4 x 4
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 128), nn.ReLU(),
        nn.Linear(128, 10))


def run(seed, train, test, epochs, batch, init=None, orders=None):
    torch.manual_seed(seed)
    model = fashion_cnn()
    if init is not None:
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(init, model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    shuffle = torch.Generator().manual_seed(seed)
    x, y = train
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=shuffle) if orders is None else orders[epoch]
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    sec = time.perf_counter() - t0
    xt, yt = test
    correct = 0
    with torch.no_grad():
        for start in range(0, len(xt), 1000):
            correct += (model(xt[start:start + 1000]).argmax(1) == yt[start:start + 1000]).sum().item()
    return correct / len(xt), sec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=FASHION, help="directory of the IDX files (default %(default)s)")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--start", help="directory with clreg's init.f32 and order.i32: one more run from them")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    train, test = load_split(a.data, "train"), load_split(a.data, "t10k")
    if a.start:
        init = torch.from_numpy(np.fromfile(os.path.join(a.start, "init.f32"), dtype="<f4").copy())
        nparams = sum(p.numel() for p in fashion_cnn().parameters())
        orders = np.fromfile(os.path.join(a.start, "order.i32"), dtype="<i4").astype(np.int64)
        if init.numel() != nparams or orders.size != a.epochs * len(train[0]):
            sys.exit("fashion_cnn.py: %s: expected %d parameters and %d epochs of %d images, got %d and %d indices"
                     % (a.start, nparams, a.epochs, len(train[0]), init.numel(), orders.size))
        acc, sec = run(0, train, test, a.epochs, a.batch, init, torch.from_numpy(orders).view(a.epochs, -1))
        print("same_start accuracy %.4f seconds %.1f" % (acc, sec), flush=True)
    accs = []
    for seed in (int(s) for s in a.seeds.split(",")):
        acc, sec = run(seed, train, test, a.epochs, a.batch)
        accs.append(acc)
        print("seed %d accuracy %.4f seconds %.1f" % (seed, acc, sec), flush=True)
    std = statistics.stdev(accs) if len(accs) > 1 else 0.0
    print("mean %.4f std %.4f" % (statistics.mean(accs), std))


if __name__ == "__main__":
    main()
