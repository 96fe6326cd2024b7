#!/usr/bin/env bash
# Installs the Debian packages clgan needs (when missing) and builds the tools.
# Run as root, or with sudo available.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium, libxml2-utils and python3-pil: tests/test_report.sh checks the run pages in headless Chromium
pkgs=(build-essential pkg-config ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo libclblast-dev
      libinih-dev libstb-dev zlib1g-dev dataset-fashion-mnist python3-torch python3-numpy
      libopenblas0-pthread  # OpenBLAS: PyTorch's BLAS in the ./bench comparisons (the reference BLAS is no fair anchor)
      chromium libxml2-utils python3-pil  # the run report's browser test
      oclgrind  # make test-oclgrind
      python3-torchvision python3-scipy  # ./evaluate's parity tests: Inception-v3/AlexNet built by torchvision, sqrtm by scipy
      libopenmpi-dev openmpi-bin  # data-parallel training (mpirun -np N ./train) and its equivalence tests
      clblast-utils)  # CLBlast's tuners, for ./bench --tune
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
make -j"$(nproc)"
# The embedded CycleGAN data (ini/cyclegan.ini): edges2fashion derived from Fashion-MNIST.
[ -d data/edges2fashion/train ] || ./make_edges2fashion --out data/edges2fashion
