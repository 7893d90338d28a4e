#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) to run dmaheap: the Debian
# packages it needs, then the npm dependencies (which build the native addon)
# and the build (TypeScript and the static agents).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  qemu-system-x86        # boots the default target's kernel
  busybox-static         # the guest initramfs's userspace (must be static)
  qemu-user-static       # runs the aarch64 agent on this machine in the tests
  gcc-aarch64-linux-gnu  # cross-builds the static aarch64 agent
  libc6-dev-arm64-cross  # static glibc for that agent
  gcc g++ make python3   # the x86_64 agent and the Node addon (node-gyp)
  clang libclang-rt-14-dev  # the agent's parser under libFuzzer, ASan, UBSan (test/fuzz-agent.test.ts)
  libcjson-dev           # the fuzzer checks each reply is valid JSON
  dpkg                   # dpkg-deb unpacks Debian's kernel package
  xz-utils               # decompresses the kernel package's modules (vgem)
  qemu-system-arm        # boots arm64 kernels (qemu-system-aarch64)
  linux-source-6.12      # a kernel tree to build: `dmaheap kernel build --src debian`
  bc bison flex libelf-dev libssl-dev rsync  # what a kernel build needs
  chromium               # the tests render report.html in headless Chromium
  libxml2-utils          # xmllint: the tests validate junit.xml against the JUnit schema
  openssh-client         # ssh, ssh-keygen: the system ssh transport to boards, and the tests
  dropbear-bin           # the SSH server of the test boards (QEMU guests)
  openssh-sftp-server    # the test boards' SFTP server, which the agent is uploaded over
  lava-dispatcher        # lava_common's job schema checks `dmaheap lava job`; lava-run runs one (test/lava.test.ts, test/lava-run.test.ts)
  docker.io              # LAVA's docker test shell, where the harness runs in that job
  debootstrap            # makes that container's Debian image
  device-tree-compiler   # dtc: --reserved-memory adds regions to QEMU's arm64 device tree
)

missing=()
for name in "${packages[@]}"; do dpkg -s "$name" >/dev/null 2>&1 || missing+=("$name"); done
# The default target's kernel (bookworm-security) is found through apt's lists.
kernel_known() { apt-cache search --names-only '^linux-image-6\.12\..*\+deb12-amd64-unsigned$' | grep -q .; }
if [ ${#missing[@]} -gt 0 ] || ! kernel_known; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm run build
