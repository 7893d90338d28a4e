// Who a broken target is blamed on: the OOM killer taking the agent itself
// is the heap's failure, its sacrificial child being killed is not. The
// console lines are as a 6.12 guest printed them.
import t from 'tap'
import { agentOomReport, memoryLost } from '../../suites/run.js'

const child = '[   47.651413] Out of memory: Killed process 351 (dmaheap-agent) total-vm:561032kB, anon-rss:268kB, file-rss:0kB, shmem-rss:396kB, UID:0 pgtables:104kB oom_score_adj:1000'
const agent = '[   52.100000] Out of memory: Killed process 212 (dmaheap-agent) total-vm:1261032kB, anon-rss:268kB, file-rss:0kB, shmem-rss:980396kB, UID:0 pgtables:2104kB oom_score_adj:0'

t.test('the sacrificial child of the exhaustion cases is not the agent', async (t) => {
  t.equal(agentOomReport(['[    1.0] boot', child].join('\n')), undefined)
})

t.test('the agent killed by the OOM killer: the kill line, and the report from "invoked oom-killer"', async (t) => {
  const tail = [child, '[   52.0] dmaheap-agent invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0', '[   52.0] Mem-Info:', agent, '[   52.2] dmaheap-init: agent exited (killed by SIGKILL); restarting'].join('\n')
  const r = agentOomReport(tail)
  t.equal(r?.headline, 'Out of memory: Killed process 212 (dmaheap-agent)')
  t.match(r?.excerpt, /^\[ {3}52\.0\] dmaheap-agent invoked oom-killer.*\n.*Mem-Info:\n.*oom_score_adj:0$/)
  t.notMatch(r?.excerpt, /Killed process 351/, 'an earlier kill of the child is not part of it')
})

t.test('memory never given back before a suite is named, with the suite that lost most of it', async (t) => {
  const M = 1024n * 1024n
  const at = (where: string, mib: bigint) => {
    const [suite, heap] = where.split(' on ') as [string, string]
    return { suite, heap, inUse: mib * M, total: 512n * M }
  }
  t.equal(memoryLost([at('alloc on system', 20n)]), undefined, 'one snapshot: nothing to compare')
  t.equal(memoryLost([at('alloc on system', 20n), at('mmap on system', 140n)]), undefined, 'a quarter or less is noise')
  t.same(memoryLost([at('alloc on leaky', 20n), at('mmap on leaky', 300n), at('sync on leaky', 330n), at('alloc on system', 340n)]), {
    text: '320 MiB of 512 MiB were in use and never given back before this suite began (280 MiB of it during alloc on leaky: a leak)',
    suite: 'alloc',
    heap: 'leaky',
    bytes: 280n * M,
  })
})
