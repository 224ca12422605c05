#!/usr/bin/python3
"""The PyTorch side of bench_conv: the Zenke et al. CIFAR network on CIFAR-shaped inputs, one thread.

bench_conv (bench/bench_conv.c) runs this script after its own measurements and reads the lines it prints
("key value"), so both sides are measured in the same run on the same machine:

  train_samples_per_sec   training throughput: forward, cross-entropy, backward, Adam (lr 1e-3), batch B,
                          over --steps batches of random 3x32x32 inputs after --warmup untimed ones
  train_system_share      the part of that CPU time spent in the kernel (page faults, mostly: see bench_conv
                          on glibc's allocator)
  ewc_sec, mas_sec        the exact per-sample importances the plain way: for each of the --samples samples,
                          forward, backward, accumulate grad^2 (EWC, empirical Fisher: the gradient of
                          log p(y | x) at the true label) or |grad| (MAS: the gradient of the squared L2 norm
                          of the logits), then divide by the number of samples

With --state DIR the importances are computed at clreg's parameters on clreg's inputs (DIR/params.f32, the
flat buffer in PyTorch's layouts; DIR/x.f32 and DIR/y.i32) and written as flat float32 buffers in the same
order (DIR/torch_ewc.f32, DIR/torch_mas.f32), so that bench_conv can check both sides computed the same
quantity. Run with Debian's /usr/bin/python3 (python3-torch); `make bench` installs it.

Times are the process's CPU time, as bench_conv measures clreg's: with one thread it is the time spent
computing, and on a machine shared with other work it leaves out the time the process waited for a core.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def zenke_cifar(classes=10):
    """conv32k3p1, conv32k3p1, maxpool2, conv64k3p1, conv64k3p1, maxpool2, dense512, a linear head; ReLU
    after every conv and dense layer (models/arch.h, preset zenke-cifar). Parameters in the order of
    clreg's flat buffer: each layer's weight then its bias, first layer first."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 512), nn.ReLU(),
        nn.Linear(512, classes))


def train_throughput(model, batch, steps, warmup):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    g = torch.Generator().manual_seed(1)
    # A few distinct batches, made before the clock starts (clreg's timed epoch assembles its batches from
    # uint8 pixels inside the loop; that is a small part of a step and is counted against clreg).
    xs = [torch.rand(batch, 3, 32, 32, generator=g) for _ in range(4)]
    ys = [torch.randint(0, 10, (batch,), generator=g) for _ in range(4)]

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xs[i % 4]), ys[i % 4])
        loss.backward()
        opt.step()

    for i in range(warmup):  # oneDNN builds its kernels on the first calls
        step(i)
    t0 = os.times()
    for i in range(steps):
        step(i)
    t1 = os.times()
    user, system = t1.user - t0.user, t1.system - t0.system
    return steps * batch / (user + system), system / (user + system)


def per_sample_importance(model, x, y, kind):
    """Mean over samples of grad^2 (kind 'ewc') or |grad| (kind 'mas'), one sample at a time."""
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]

    def one(i, accumulate):
        out = model(x[i:i + 1])
        if kind == "ewc":
            loss = F.log_softmax(out, dim=1)[0, y[i]]   # the sign does not survive squaring
        else:
            loss = out.pow(2).sum()                     # ||f(x)||_2^2 on the logits (clreg's norm=l2sq)
        grads = torch.autograd.grad(loss, params)
        if accumulate:
            with torch.no_grad():
                for a, g in zip(acc, grads):
                    if kind == "ewc":
                        a.addcmul_(g, g)
                    else:
                        a.add_(g.abs_())  # in place: the gradient is this loop's own

    # Warm-up, not counted: the loop's steady state is what extrapolates. The first few dozen samples also
    # pay for the allocator growing its heap to the size of a gradient (page faults, system time).
    for i in range(min(20, len(x))):
        one(i, False)
    t0 = time.process_time()
    for i in range(len(x)):
        one(i, True)
    sec = time.process_time() - t0
    return sec, torch.cat([a.reshape(-1) for a in acc]) / len(x)


def debian_version():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=40, help="timed training batches")
    ap.add_argument("--warmup", type=int, default=2, help="untimed training batches first")
    ap.add_argument("--state", help="directory with clreg's params.f32, x.f32, y.i32")
    ap.add_argument("--samples", type=int, default=1000, help="samples of the per-sample loops")
    ap.add_argument("--train-only", action="store_true", help="training throughput alone")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    print("torch_version", torch.__version__)
    print("debian_version", debian_version())
    print("threads", torch.get_num_threads())

    model = zenke_cifar()
    nparams = sum(p.numel() for p in model.parameters())
    print("params", nparams)
    if a.state:
        flat = np.fromfile(os.path.join(a.state, "params.f32"), dtype="<f4")
        if flat.size != nparams:
            sys.exit("zenke_cifar.py: %s/params.f32 holds %d floats, the network has %d parameters"
                     % (a.state, flat.size, nparams))
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(torch.from_numpy(flat.copy()), model.parameters())
        x = torch.from_numpy(np.fromfile(os.path.join(a.state, "x.f32"), dtype="<f4").copy()).view(-1, 3, 32, 32)
        y = torch.from_numpy(np.fromfile(os.path.join(a.state, "y.i32"), dtype="<i4").astype(np.int64))
        x, y = x[:a.samples], y[:a.samples]
    else:
        g = torch.Generator().manual_seed(2)
        x = torch.rand(a.samples, 3, 32, 32, generator=g)
        y = torch.randint(0, 10, (a.samples,), generator=g)
    print("samples", len(x))
    for kind in () if a.train_only else ("ewc", "mas"):
        sec, omega = per_sample_importance(model, x, y, kind)
        print(kind + "_sec", "%.6f" % sec)
        if a.state:
            omega.numpy().astype("<f4").tofile(os.path.join(a.state, "torch_%s.f32" % kind))
    sps, system = train_throughput(model, a.batch, a.steps, a.warmup)
    print("train_samples_per_sec", "%.3f" % sps)
    print("train_system_share", "%.4f" % system)
    print("train_steps", a.steps)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
