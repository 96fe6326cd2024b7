"""The references of tests/test_evaluate_stats.c and tests/test_featnet.c (run with /usr/bin/python3:
Debian's python3-torch, python3-scipy, python3-numpy). Files are raw little-endian arrays.
    resize IN OUT C H W OH OW   float32 {1,C,H,W} -> F.interpolate(bilinear, align_corners=False) -> OUT
    fid MU1 S1 MU2 S2 D         float64: prints pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm)
    is LOGITS N K SPLITS        float32 logits: prints the mean and std of the Inception score (the
                                reference implementation's splits, numpy)
"""
import sys

import numpy as np


def frechet(mu1, s1, mu2, s2):
    from scipy import linalg
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():  # pytorch-fid's fallback for a singular product
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def inception_score(logits, splits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    n = p.shape[0]
    scores = []
    for k in range(splits):
        part = p[k * (n // splits):(k + 1) * (n // splits)]
        py = part.mean(axis=0, keepdims=True)
        kl = np.where(part > 0, part * (np.log(np.where(part > 0, part, 1)) - np.log(py)), 0).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return np.mean(scores), np.std(scores)


def main():
    mode = sys.argv[1]
    if mode == "resize":
        import torch
        import torch.nn.functional as F
        c, h, w, oh, ow = map(int, sys.argv[4:9])
        x = torch.from_numpy(np.fromfile(sys.argv[2], dtype="<f4").reshape(1, c, h, w).copy())
        y = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)
        y.numpy().astype("<f4").tofile(sys.argv[3])
    elif mode == "fid":
        d = int(sys.argv[6])
        mu1, mu2 = (np.fromfile(f, dtype="<f8") for f in (sys.argv[2], sys.argv[4]))
        s1, s2 = (np.fromfile(f, dtype="<f8").reshape(d, d) for f in (sys.argv[3], sys.argv[5]))
        print("%.17g" % frechet(mu1, s1, mu2, s2))
    elif mode == "is":
        n, k, splits = map(int, sys.argv[3:6])
        lg = np.fromfile(sys.argv[2], dtype="<f4").reshape(n, k).astype(np.float64)
        print("%.17g %.17g" % inception_score(lg, splits))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
