// The pre-merge CI recipes (docs/ci/): the GitHub Actions workflow and the
// GitLab CI job, read with the yaml package, and their command run for real
// with the variables each service would set: a kernel tree built with
// `dmaheap kernel build`, a run of one suite, junit.xml, summary.md and
// report.html where the recipes publish them from, and the gate against the
// target branch's last run: none yet, one that passes, one with a new
// failure (a reference-heap fault profile). The services' own steps
// (checkout, cache, artifact download and upload) are not run here; where
// they would put the harness, the tree and the baseline, the test puts them.
import t from 'tap'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa } from 'execa'
import YAML from 'yaml'
import { z } from 'zod'
import { resolveSource } from '../targets/kernel-build.js'
import { dmaheap, readResults, repo } from './helpers.js'

const CI_DIR = join(repo, 'docs', 'ci')
const SCRIPT = join(CI_DIR, 'premerge.sh')
const BUILD_MS = 40 * 60_000

// What the tests read of each recipe; the rest is the services' business.
const vars = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
const ghStep = z.looseObject({ name: z.string(), uses: z.string().optional(), run: z.string().optional(), if: z.string().optional(), with: vars.optional(), env: vars.optional() })
const githubSchema = z.looseObject({ env: vars.default({}), jobs: z.looseObject({ dmaheap: z.looseObject({ env: vars.default({}), steps: z.array(ghStep) }) }) })
const gitlabSchema = z.looseObject({
  dmaheap: z.looseObject({
    variables: vars,
    script: z.array(z.string()),
    artifacts: z.looseObject({ when: z.string(), expose_as: z.string(), paths: z.array(z.string()), reports: z.looseObject({ junit: z.string() }) }),
  }),
})

const github = githubSchema.parse(YAML.parse(readFileSync(join(CI_DIR, 'github-actions.yml'), 'utf8')))
const gitlab = gitlabSchema.parse(YAML.parse(readFileSync(join(CI_DIR, '.gitlab-ci.yml'), 'utf8')))
const ghJob = github.jobs.dmaheap
const glJob = gitlab.dmaheap
const ghEnv = { ...github.env, ...ghJob.env }

/** ${{ env.NAME }} as GitHub expands it in a step's `with`. */
const ghExpand = (s: string, env: Record<string, string>) => s.replace(/\$\{\{\s*env\.(\w+)\s*\}\}/g, (_, n: string) => env[n] ?? '')
/** $NAME and ${NAME} as GitLab expands them in `variables`. */
const glExpand = (s: string, env: Record<string, string>) => s.replace(/\$\{?(\w+)\}?/g, (_, n: string) => env[n] ?? '')
const stepUsing = (action: string) => ghJob.steps.find((s) => s.uses?.startsWith(`${action}@`))
const premergeStep = ghJob.steps.find((s) => /premerge\.sh/.test(s.run ?? ''))
const premergeLine = glJob.script.find((l) => /premerge\.sh/.test(l))

/** The environment a job gets: this machine's PATH and HOME (not tap's own variables), the recipe's and the service's. */
function jobEnv(vs: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TAP') && !k.startsWith('_TAPJS')))
  return { ...base, ...vs } as Record<string, string>
}

/** The variables premerge.sh reads ("${NAME:-" or "${NAME}"), from the script itself. */
const scriptReads = new Set([...readFileSync(SCRIPT, 'utf8').matchAll(/\$\{(\w+)(?::-|\})/g)].map((m) => m[1]!))

t.test('both recipes call the same script the same way, and publish what it leaves', async (t) => {
  t.ok(premergeStep?.run, 'the workflow has a step that runs premerge.sh')
  t.ok(premergeLine, 'the GitLab job runs premerge.sh')
  t.equal(premergeStep?.run?.trim(), premergeLine?.trim(), 'the same command in both')
  t.equal(premergeStep?.run?.trim(), 'bash "$DMAHEAP_DIR/docs/ci/premerge.sh"', 'the harness\'s own script, where the recipe put the harness')
  const setup = (cmds: string[]) => cmds.filter((c) => /scripts\/setup\.sh/.test(c)).map((c) => c.trim())
  t.same(setup(ghJob.steps.map((s) => s.run ?? '')), setup(glJob.script), 'the same set-up command in both')
  t.same(setup(glJob.script), ['bash "$DMAHEAP_DIR/scripts/setup.sh"'], 'the README\'s set-up script')
  // A recipe variable meant for the script that the script never reads is a typo.
  for (const [name, vs] of [['github', ghEnv], ['gitlab', glJob.variables]] as const) {
    const meant = Object.keys(vs).filter((k) => /^(KERNEL_|DMAHEAP_)/.test(k) && !/^DMAHEAP_(DIR|REF|GIT|REPOSITORY)$/.test(k))
    t.ok(meant.length >= 5, `${name}: sets the script's variables (${meant.join(', ')})`)
    for (const k of meant) t.ok(scriptReads.has(k), `${name}: premerge.sh reads ${k}`)
  }

  // GitHub: the baseline is the artifact the upload step makes, fetched where the script looks.
  const upload = stepUsing('actions/upload-artifact')
  const download = stepUsing('dawidd6/action-download-artifact')
  const junit = stepUsing('mikepenz/action-junit-report')
  t.equal(ghExpand(upload?.with?.path ?? '', ghEnv), `${ghEnv.DMAHEAP_OUT}/`, 'the whole run folder is kept (report.html, and the next baseline)')
  t.equal(upload?.if, 'always()', 'kept when the gate failed too')
  t.equal(download?.with?.name, upload?.with?.name, 'the baseline is the artifact this workflow uploads')
  t.equal(ghExpand(download?.with?.path ?? '', ghEnv), ghEnv.DMAHEAP_BASELINE, 'unpacked where premerge.sh looks')
  t.equal(download?.with?.if_no_artifact_found, 'warn', 'a first run without a baseline goes on')
  t.equal(ghExpand(junit?.with?.report_paths ?? '', ghEnv), `${ghEnv.DMAHEAP_OUT}/junit.xml`, 'junit.xml is published from the run folder')
  t.equal(junit?.if, 'always()', 'published when the gate failed too')
  const steps = ghJob.steps.map((s) => s.name)
  t.ok(steps.indexOf(download!.name) < steps.indexOf(premergeStep!.name) && steps.indexOf(premergeStep!.name) < steps.indexOf(upload!.name), 'baseline, then the run, then the upload')

  // GitLab: the same outputs, from the same folder; the baseline zip holds that folder.
  const out = glJob.variables.DMAHEAP_OUT!
  t.equal(glJob.artifacts.reports.junit, `${out}/junit.xml`, 'junit.xml as the JUnit report')
  t.equal(glJob.artifacts.when, 'always', 'artifacts kept when the gate failed too')
  for (const f of ['summary.md', 'report.html', 'results.jsonl', 'run.json', 'junit.xml']) t.ok(glJob.artifacts.paths.includes(`${out}/${f}`), `artifact ${out}/${f}`)
  t.equal(glJob.artifacts.paths[0], `${out}/summary.md`, 'summary.md is the first exposed link')
  const fetch = glJob.script.find((l) => /jobs\/artifacts/.test(l)) ?? ''
  const unpackedInto = /-m zipfile -e \S+ (\S+)/.exec(fetch)?.[1]
  t.equal(glJob.variables.DMAHEAP_BASELINE, `${unpackedInto}/${out}`, 'the baseline is looked for where the fetch unpacks the artifact')
  t.match(fetch, /\|\| echo /, 'a first run without a baseline goes on')
})

t.test('premerge.sh refuses what would mix runs or cannot build, with exit 2', async (t) => {
  const ws = mkdtempSync(join(tmpdir(), 'dmaheap-test-premerge-bad-'))
  mkdirSync(join(ws, 'dmaheap-run'))
  writeFileSync(join(ws, 'dmaheap-run', 'results.jsonl'), '')
  const used = await execa('bash', [SCRIPT], { cwd: ws, reject: false, env: jobEnv({ DMAHEAP_OUT: 'dmaheap-run' }), extendEnv: false })
  t.equal(used.exitCode, 2, 'an output folder with files in it: exit 2')
  t.match(used.stderr, /^premerge: error: dmaheap-run already holds files \(set DMAHEAP_OUT to a fresh folder/m)
  const summary = join(ws, 'step-summary.md')
  const notTree = await execa('bash', [SCRIPT], { cwd: ws, reject: false, env: jobEnv({ KERNEL_TREE: ws, DMAHEAP_OUT: 'out', GITHUB_STEP_SUMMARY: summary }), extendEnv: false })
  t.equal(notTree.exitCode, 2, 'a folder that is not a kernel tree: exit 2')
  t.match(notTree.stderr, /is not a kernel source tree/, "kernel build's own message")
  t.match(notTree.stderr, /^premerge: error: the kernel tree .* did not build for x86_64/m)
  t.match(readFileSync(summary, 'utf8'), /^## dmaheap: the kernel did not build$/m, 'the job page says so')
})

t.test('the recipes run: build the tree, run, publish, gate (none yet, passing, a new failure)', async (t) => {
  // The tree under test: Debian's linux-source, as .ci/run builds it
  // (`--src debian`). Built here first (a no-op when .ci/run has), so the
  // recipes' builds must reuse that build folder and be incremental.
  const tree = await resolveSource('debian', (m) => t.comment(m))
  const ref = await dmaheap(['kernel', 'build', '--src', 'debian', '--arch', 'x86_64'], BUILD_MS)
  t.equal(ref.exitCode, 0, `kernel build --src debian (stderr: ${ref.stderr.slice(-1500)})`)
  const image = ref.stdout.trim()
  const vmlinux = join(image, '..', '..', '..', '..', 'vmlinux')
  const linkedAt = statSync(vmlinux).mtimeMs
  const timings: string[] = []
  t.teardown(() => t.comment(`measured: ${timings.join('; ')}`))

  /** Runs a recipe command as the service does (bash, stop at the first failing command). */
  const runCommand = async (command: string, cwd: string, env: Record<string, string>, what: string) => {
    const t0 = Date.now()
    const r = await execa('bash', ['-e', '-o', 'pipefail', '-c', command], { cwd, env, extendEnv: false, reject: false, timeout: BUILD_MS })
    timings.push(`${what}: ${((Date.now() - t0) / 1000).toFixed(0)} s (kernel build ${/kernel built in (\d+) s/.exec(r.stderr)?.[1] ?? '?'} s)`)
    // Every build the recipes make is the build folder .ci/run made, incremental: no second full build.
    t.match(r.stderr, /built Linux \S+ \(x86_64\) in \d+ s \(incremental\)/, `${what}: the kernel build is incremental`)
    t.match(r.stderr, new RegExp(`^premerge: kernel built in \\d+ s: ${image.replace(/[.+]/g, '\\$&')}$`, 'm'), `${what}: in the build folder .ci/run builds`)
    t.equal(statSync(vmlinux).mtimeMs, linkedAt, `${what}: vmlinux was not linked again`)
    return r
  }
  // Short: one suite. DMAHEAP_RUN_ARGS is the recipes' knob for what runs.
  const shortRun = (vs: Record<string, string>, extra = '') => `${vs.DMAHEAP_RUN_ARGS} --suite zero-size${extra}`

  /** A GitHub workspace after the checkout steps: the tree and the harness where the workflow puts them. */
  const githubWorkspace = (name: string) => {
    const ws = mkdtempSync(join(tmpdir(), `dmaheap-test-gh-${name}-`))
    symlinkSync(tree, join(ws, ghEnv.KERNEL_TREE!))
    symlinkSync(repo, join(ws, ghEnv.DMAHEAP_DIR!))
    return ws
  }
  const githubEnv = (ws: string, extra = '') => {
    const summary = join(ws, '..', `${ws.split('/').pop()}-step-summary.md`)
    writeFileSync(summary, '')
    const env = jobEnv({ ...ghEnv, ...(premergeStep!.env ?? {}), CI: 'true', GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: ws, GITHUB_STEP_SUMMARY: summary })
    env.DMAHEAP_RUN_ARGS = shortRun(env, extra)
    return { env, summary }
  }

  // 1. GitHub, the first run: no baseline yet.
  const ws1 = githubWorkspace('first')
  const gh1 = githubEnv(ws1)
  const first = await runCommand(premergeStep!.run!, ws1, gh1.env, 'github, first run')
  t.equal(first.exitCode, 0, `first run: exit 0 (stderr: ${first.stderr.slice(-1200)})`)
  t.match(first.stderr, /^premerge: no baseline at dmaheap-baseline \(the target branch has no earlier run\): this is the first run, the gate has nothing to compare with and passes/m, 'it says there was nothing to gate against')
  const out1 = join(ws1, ghEnv.DMAHEAP_OUT!)
  for (const f of ['junit.xml', 'summary.md', 'report.html', 'results.jsonl', 'run.json']) t.ok(existsSync(join(out1, f)), `${f} where the workflow publishes it from`)
  const results1 = readResults(out1)
  t.ok(results1.some((r) => r.id === 'zero-size.len-0' && r.heap === 'reserved' && r.status === 'PASS'), 'zero-size ran on the CMA heap of the built kernel')
  t.ok(results1.every((r) => r.status !== 'FAIL' && r.status !== 'ERROR'), 'and nothing failed')
  const step1 = readFileSync(gh1.summary, 'utf8')
  t.ok(step1.startsWith(readFileSync(join(out1, 'summary.md'), 'utf8')), 'summary.md is on the job page ($GITHUB_STEP_SUMMARY)')
  t.match(step1, /^## Gate: not compared$/m, 'and the job page says the gate compared nothing')
  t.match(readFileSync(join(out1, 'junit.xml'), 'utf8'), /zero-size\.len-0 \[reserved on qemu-x86_64\]/, 'junit.xml names the cases')

  // 2. GitLab, against that run as the target branch's last one: no regression.
  const project = mkdtempSync(join(tmpdir(), 'dmaheap-test-gl-'))
  const glBase = jobEnv({ CI: 'true', GITLAB_CI: 'true', CI_PROJECT_DIR: project, CI_JOB_NAME: 'dmaheap' })
  const glVars = Object.fromEntries(Object.entries(glJob.variables).map(([k, v]) => [k, glExpand(v, glBase)]))
  symlinkSync(repo, glVars.DMAHEAP_DIR!) // where the job's clone line puts the harness
  cpSync(out1, join(project, glVars.DMAHEAP_BASELINE!), { recursive: true }) // what the fetch line unpacks
  const glEnv = jobEnv({ ...glBase, ...glVars })
  // On GitLab the project folder is the tree and the harness's cache is in it
  // (GitLab caches only there); here the tree is Debian's, and the cache this
  // machine's, which the GitLab cache would have restored.
  glEnv.KERNEL_TREE = tree
  delete glEnv.XDG_CACHE_HOME
  if (process.env.XDG_CACHE_HOME) glEnv.XDG_CACHE_HOME = process.env.XDG_CACHE_HOME
  glEnv.DMAHEAP_RUN_ARGS = shortRun(glEnv)
  const second = await runCommand(premergeLine!, project, glEnv, 'gitlab, against the first')
  t.equal(second.exitCode, 0, `gate passes: exit 0 (stderr: ${second.stderr.slice(-1200)})`)
  t.match(second.stderr, /^premerge: gate: no regression against the target branch's last run$/m)
  t.match(second.stdout, /^# dmaheap: PASS on qemu-x86_64/m, 'summary.md is in the job log')
  for (const p of [...glJob.artifacts.paths.filter((p) => !/console\.log$/.test(p)), glJob.artifacts.reports.junit]) t.ok(existsSync(join(project, p)), `artifact ${p} is there`)
  t.match(readFileSync(join(project, glVars.DMAHEAP_OUT!, 'compare.txt'), 'utf8'), /^0 regression, /m, 'compare.txt: no regression')

  // 3. GitHub, a change that breaks a heap (the reference heap's acceptzero profile): the gate fails.
  const ws3 = githubWorkspace('regression')
  cpSync(out1, join(ws3, ghEnv.DMAHEAP_BASELINE!), { recursive: true }) // what the download step unpacks
  const gh3 = githubEnv(ws3, ' --reference-faults acceptzero')
  const third = await runCommand(premergeStep!.run!, ws3, gh3.env, 'github, a new failure')
  t.equal(third.exitCode, 1, `a new failure: exit 1 (stderr: ${third.stderr.slice(-1200)})`)
  t.match(third.stderr, /^premerge: dmaheap run: exit 1$/m, 'the run failed')
  t.match(third.stderr, /^dmaheap: gate: \d+ regressions?$/m, 'the gate failed on it')
  const compared = readFileSync(join(ws3, ghEnv.DMAHEAP_OUT!, 'compare.txt'), 'utf8')
  t.match(compared, /^ {2}zero-size\.len-0 on dmaheap-reference\+acceptzero \(qemu-x86_64\): PASS -> FAIL/m, 'the regression is named')
  const step3 = readFileSync(gh3.summary, 'utf8')
  t.match(step3, /^## Gate: REGRESSIONS against the target branch's last run$/m, 'the job page says the gate failed')
  t.match(step3, /zero-size\.len-0 on dmaheap-reference\+acceptzero/, 'and which case')
  t.match(readFileSync(join(ws3, ghEnv.DMAHEAP_OUT!, 'junit.xml'), 'utf8'), /<failure/, 'junit.xml has the failure')
})
