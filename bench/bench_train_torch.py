#!/usr/bin/python3
"""bench_train_torch.py - PyTorch side of bench/bench_train.sh.

Trains the same architectures as src/train/arch.c (lenet, mlp, dscnn) on Fashion-MNIST with
the same batch size and optimizer (Adam, lr 1e-3) for a fixed number of batches on ONE thread
(torch.set_num_threads(1)), after 10 warm-up batches, and prints
"torch ARCH batch B batches N wall_images/s W images/s X" like bench_train (X by process CPU
time, so a loaded machine does not decide the ratio).

usage: bench_train_torch.py [ARCH] [BATCHES] [BATCH]   (Debian python3-torch, /usr/bin/python3)
"""
import gzip
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

DIR = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def model(arch):
    if arch == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                             nn.ReLU(), nn.Linear(128, 10))
    if arch == "lenet":
        return nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))

    def block(cin, cout, k, s, g):
        return [nn.Conv2d(cin, cout, k, stride=s, padding=k // 2, groups=g, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*block(1, 32, 3, 2, 1), *block(32, 32, 3, 1, 32), *block(32, 64, 1, 1, 1),
                         *block(64, 64, 3, 2, 64), *block(64, 64, 1, 1, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def main():
    arch = sys.argv[1] if len(sys.argv) > 1 else "lenet"
    batches = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    torch.set_num_threads(1)
    torch.manual_seed(1)
    x = torch.from_numpy(idx(DIR + "/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0)
    x = x.reshape(-1, 1, 28, 28)
    y = torch.from_numpy(idx(DIR + "/train-labels-idx1-ubyte.gz").astype(np.int64))
    m = model(arch)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    perm = torch.randperm(x.shape[0])
    t0 = c0 = 0.0
    for i in range(batches + 10):
        if i == 10:
            t0 = time.perf_counter()
            c0 = time.process_time()
        j = (i * batch) % (x.shape[0] - batch)
        idxs = perm[j:j + batch]
        opt.zero_grad()
        loss = lossf(m(x[idxs]), y[idxs])
        loss.backward()
        opt.step()
    dt = time.perf_counter() - t0
    dc = time.process_time() - c0
    print("torch %s batch %d batches %d wall_images/s %.0f images/s %.0f"
          % (arch, batch, batches, batches * batch / dt, batches * batch / dc))


if __name__ == "__main__":
    main()
