// The accelerator on a host whose KVM is broken. A real process plays a QEMU
// that aborts as soon as it is given KVM (the assertion a nested-virt host's
// QEMU 7.2 dies on) and runs the real QEMU otherwise; it is first on PATH, so
// the harness meets it exactly as it would meet that host's QEMU.
import t from 'tap'
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execaSync } from 'execa'
import { dmaheap } from './helpers.js'

const real = execaSync('sh', ['-c', 'command -v qemu-system-x86_64']).stdout.trim()

/** A qemu-system-x86_64 that aborts under KVM; `--version` carries a nonce so the harness's accelerator memory starts empty for it. */
function abortingQemu(): { dir: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'dmaheap-fake-qemu-'))
  const log = join(dir, 'calls.log')
  const nonce = `${process.pid}-${Date.now()}`
  const script = `#!/bin/sh
if [ "$1" = --version ]; then "${real}" --version | sed '1s/$/ (kvm-aborts ${nonce})/'; exit; fi
prev=
for a in "$@"; do
  if [ "$prev" = -accel ]; then echo "$a" >> "${log}"; fi
  if [ "$prev" = -accel ] && [ "$a" = kvm ]; then
    echo "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion \\\`ret == cpu->kvm_msr_buf->nmsrs' failed." >&2
    kill -ABRT $$
  fi
  prev=$a
done
exec "${real}" "$@"
`
  writeFileSync(join(dir, 'qemu-system-x86_64'), script)
  chmodSync(join(dir, 'qemu-system-x86_64'), 0o755)
  return {
    dir,
    calls: () => {
      try {
        return readFileSync(log, 'utf8').split('\n').filter(Boolean)
      } catch {
        return []
      }
    },
  }
}

function kvmDeviceUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK)
    return true
  } catch {
    return false
  }
}

const env = (dir: string, accel?: string) => ({ PATH: `${dir}:${process.env.PATH}`, ...(accel ? { DMAHEAP_ACCEL: accel } : { DMAHEAP_ACCEL: undefined }) })

t.test('a QEMU that aborts under KVM: auto boots under TCG and remembers it', { skip: kvmDeviceUsable() ? false : 'this host has no usable /dev/kvm, so auto never tries KVM' }, async (t) => {
  const fake = abortingQemu()
  const r = await dmaheap(['list', '--heaps'], 180_000, env(fake.dir))
  t.equal(r.exitCode, 0, `exit 0 (stderr: ${r.stderr.slice(-1500)})`)
  t.match(r.stdout, /^system\tkernel heap$/m, 'the guest came up and listed its heaps')
  t.same(fake.calls(), ['kvm', 'tcg'], 'KVM tried once, then TCG')
  t.match(r.stderr, /KVM did not bring the guest up here \(.*kvm_buf_set_msrs: Assertion/, 'the reason is named')
  t.match(r.stderr, /under TCG/)

  const again = await dmaheap(['list', '--heaps'], 180_000, env(fake.dir))
  t.equal(again.exitCode, 0)
  t.same(fake.calls(), ['kvm', 'tcg', 'tcg'], 'the next run goes straight to TCG')
})

t.test('DMAHEAP_ACCEL pins the accelerator for a whole environment', async (t) => {
  const fake = abortingQemu()
  const r = await dmaheap(['list', '--heaps'], 180_000, env(fake.dir, 'tcg'))
  t.equal(r.exitCode, 0, r.stderr.slice(-1500))
  t.same(fake.calls(), ['tcg'], 'KVM never tried')

  const kvm = await dmaheap(['list', '--heaps'], 180_000, env(fake.dir, 'kvm'))
  t.equal(kvm.exitCode, 2, 'KVM pinned and broken: an infrastructure error, no fallback')
  t.match(kvm.stderr, /^dmaheap: error: boot failed: QEMU failed: .*kvm_buf_set_msrs/m)

  const bad = await dmaheap(['list', '--heaps'], 30_000, env(fake.dir, 'hvf'))
  t.not(bad.exitCode, 0)
  t.match(bad.stderr, /hvf.*(auto, kvm, tcg|allowed choices)/i, 'an unknown accelerator names the choices')
})
