#!/usr/bin/python3
"""The VAE of ini/vae.ini in PyTorch, timed per epoch on the same machine, for comparing with
clgan's "mean N s per epoch of training" line. Same architecture (784-400-5-400-784, sigmoid output),
loss (BCE summed per image + KL, batch mean), Adam 1e-3, batch 128, Fashion-MNIST from Debian's
dataset-fashion-mnist; the data order differs (torch's own shuffle), which does not change the cost.

usage: /usr/bin/python3 tools/torch_ref/vae_epoch.py [epochs] [threads]
"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = "/usr/share/datasets/fashion-mnist/"


def idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows * cols).astype(np.float32) / 255.0


class VAE(torch.nn.Module):
    def __init__(self, d=784, h=400, z=5):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = torch.nn.Linear(d, h), torch.nn.Linear(h, z), torch.nn.Linear(h, z)
        self.fc3, self.fc4 = torch.nn.Linear(z, h), torch.nn.Linear(h, d)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    train = torch.from_numpy(idx_images(ROOT + "train-images-idx3-ubyte.gz"))
    test = torch.from_numpy(idx_images(ROOT + "t10k-images-idx3-ubyte.gz"))
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    B = 128
    for epoch in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(train.shape[0])
        for i in range(0, train.shape[0], B):
            x = train[perm[i:i + B]]
            mu, lv = model.encode(x)
            z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
            xh = model.decode(z)
            loss = (F.binary_cross_entropy(xh, x, reduction="sum") + 0.5 * torch.sum(lv.exp() + mu * mu - 1 - lv)) / x.shape[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
        secs = time.perf_counter() - t0
        with torch.no_grad():
            mse = F.mse_loss(model.decode(model.encode(test)[0]), test).item()
        print(f"pytorch {torch.__version__} ({threads} threads) epoch {epoch + 1}: {secs:.2f} s, test reconstruction MSE {mse:.5f}")


if __name__ == "__main__":
    main()
