// Package deploy_test checks the Kubernetes and Argo manifests under deploy/
// against the stages they run: every container's command and arguments,
// with Argo's placeholders ({{workflow.parameters.x}}, {{inputs.parameters.x}},
// {{item}}, {{workflow.name}}) filled from the manifests' own defaults and
// loops and $(VAR) expanded as the kubelet does ($(JOB_COMPLETION_INDEX) for
// each index of an Indexed Job), is run against the stage binaries, built
// here, with SIAMPIPE_CHECK_ARGS=1: each stage parses and checks its flags
// as it would in the pod, then exits before opening anything. An sh -c
// script runs in the host's sh with only the stages on PATH. A flag a stage
// does not know fails the test, naming the manifest, the container and the
// flag; the checks a stage makes after parsing (in its run function) do not
// run here.
//
// It also checks that every image is the one deploy/Dockerfile builds, that
// every command is a stage of stages/, the references between the manifests
// (WorkflowTemplate, parameters, artifacts, the shards of the Indexed Job
// and the concat Job), and, modestly, the Dockerfile.
package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siampipe/siampipe/internal/cli"
	"gopkg.in/yaml.v3"
)

// image is the image every manifest runs: deploy/Dockerfile built and
// tagged as README.md ("Beyond one machine") says.
const image = "ghcr.io/siampipe/siampipe:" + cli.Version

// pipeline is every stage the Argo workflow runs.
var pipeline = []string{"augment", "concat", "embed", "eval", "fetch", "plot", "reduce", "train"}

// manifests is every manifest under deploy/ and the stages it runs.
var manifests = []struct {
	file   string
	stages []string
}{
	{"k8s/embed-indexed-job.yaml", []string{"embed"}},
	{"k8s/embed-concat-job.yaml", []string{"concat"}},
	{"argo/artifact-repository.yaml", nil},
	{"argo/pipeline-template.yaml", pipeline},
	{"argo/pipeline-workflow.yaml", pipeline},
	{"argo/nightly-cronworkflow.yaml", pipeline},
}

// secret is the Secret holding the S3 credentials.
const secret = "siampipe-s3"

func TestEveryManifestIsInTheTable(t *testing.T) {
	files, err := manifestFiles(".")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range manifests {
		listed = append(listed, m.file)
	}
	sort.Strings(listed)
	if !slices.Equal(files, listed) {
		t.Errorf("manifests under deploy/: %q; the table lists %q: add each manifest to the table with the stages it runs", files, listed)
	}
}

func TestManifestsRunStagesWithFlagsTheyAccept(t *testing.T) {
	docs, err := loadDocs(".")
	if err != nil {
		t.Fatal(err)
	}
	bin, stages := buildStages(t)
	for _, m := range manifests {
		t.Run(m.file, func(t *testing.T) {
			var invs []invocation
			for _, d := range docs {
				if d.file != m.file {
					continue
				}
				di, err := docInvocations(d, docs)
				if err != nil {
					t.Error(err)
				}
				invs = append(invs, di...)
			}
			ran := map[string]bool{}
			var failures []failure
			for _, inv := range invs {
				failures = append(failures, checkInvocation(inv, bin, stages, ran)...)
			}
			reportFailures(t, failures)
			got := slices.Sorted(maps.Keys(ran))
			if want := slices.Sorted(slices.Values(m.stages)); !slices.Equal(got, want) {
				t.Errorf("runs the stages %q, the table says %q", got, want)
			}
		})
	}
}

// failure is what is wrong with one invocation.
type failure struct {
	inv invocation
	msg string
}

// reportFailures reports each message once, with the first invocation that
// had it and how many more did (the shards of one step fail alike).
func reportFailures(t *testing.T, failures []failure) {
	t.Helper()
	var order []string
	byMsg := map[string][]failure{}
	for _, f := range failures {
		if byMsg[f.msg] == nil {
			order = append(order, f.msg)
		}
		byMsg[f.msg] = append(byMsg[f.msg], f)
	}
	for _, msg := range order {
		fs := byMsg[msg]
		more := ""
		switch len(fs) {
		case 1:
		case 2:
			more = "\n  (and 1 more invocation in this manifest)"
		default:
			more = fmt.Sprintf("\n  (and %d more invocations in this manifest)", len(fs)-1)
		}
		t.Errorf("%s:\n  %s\n  %s%s", fs[0].inv.where, quote(fs[0].inv.argv), msg, more)
	}
}

// checkInvocation checks one container: its image and Secret, that it runs
// stages, and that they accept its arguments; ran collects the stages.
func checkInvocation(inv invocation, bin string, stages map[string]bool, ran map[string]bool) []failure {
	var fs []failure
	fail := func(format string, args ...any) { fs = append(fs, failure{inv, fmt.Sprintf(format, args...)}) }
	if inv.image != image {
		fail("image %q, want %q (the image of deploy/Dockerfile)", inv.image, image)
	}
	if strings.Contains(inv.rawImage, "{{") && inv.rawImage != "{{workflow.parameters.image}}" {
		fail("image %q: use the workflow's image parameter, {{workflow.parameters.image}}", inv.rawImage)
	}
	for _, s := range inv.secrets {
		if s != secret {
			fail("envFrom Secret %q, want %q (README.md, Beyond one machine)", s, secret)
		}
	}
	script := shellCommand(inv.argv)
	if script == "" {
		for _, a := range inv.argv {
			if m := undefinedRef.FindString(a); m != "" {
				fail("argument %q: %s is no variable of the container, so the kubelet leaves it as written", a, m)
			}
		}
	}
	missing := false
	for _, s := range stagesOf(inv) {
		ran[s] = true
		if !stages[s] {
			missing = true
			fail("%s is not a stage of stages/ (they are: %s); merged the branch that adds it?", s, strings.Join(slices.Sorted(maps.Keys(stages)), ", "))
		}
	}
	if missing || len(inv.argv) == 0 {
		return fs
	}
	argv := append([]string{filepath.Join(bin, inv.argv[0])}, inv.argv[1:]...)
	if script != "" {
		argv = append([]string{"/bin/sh"}, inv.argv[1:]...) // the host's sh, with only the stages on PATH
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	dir, err := os.MkdirTemp("", "deploy-run-")
	if err != nil {
		fail("%v", err)
		return fs
	}
	defer os.RemoveAll(dir)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + bin, "HOME=" + dir, cli.CheckArgsEnv + "=1"}, inv.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	switch {
	case ctx.Err() != nil:
		fail("still running after 30 s (is %s=1 honoured?)", cli.CheckArgsEnv)
	case err != nil || out.Len() > 0:
		fail("%s with %s=1: %s", errOr(err, "exit 0"), cli.CheckArgsEnv, strings.TrimSpace(out.String()))
	}
	return fs
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// quote writes argv as a shell would take it back.
func quote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n\"'$\\|;&") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

var build struct {
	once   sync.Once
	dir    string
	stages map[string]bool
	err    error
}

// buildStages builds every stage of stages/ (go build ./stages/..., as
// deploy/Dockerfile does) once per test binary; it returns their folder and
// names.
func buildStages(t *testing.T) (string, map[string]bool) {
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "deploy-test-")
		if build.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", build.dir+string(filepath.Separator), "./stages/...")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./stages/...: %v\n%s", err, out)
			return
		}
		entries, err := os.ReadDir(build.dir)
		if err != nil {
			build.err = err
			return
		}
		build.stages = map[string]bool{}
		for _, e := range entries {
			build.stages[e.Name()] = true
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.dir, build.stages
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// TestIndexedJobShardsMatchTheConcatJob: the Indexed Job's shard count
// (completions, parallelism, --shards) agrees, and the concat Job joins
// exactly the files its pods write, in index order.
func TestIndexedJobShardsMatchTheConcatJob(t *testing.T) {
	docs, err := loadDocs("k8s")
	if err != nil {
		t.Fatal(err)
	}
	var shards []string // -o of each index, in order
	var concat *invocation
	for _, d := range docs {
		if d.kind() != "Job" {
			continue
		}
		invs, err := jobInvocations(d)
		if err != nil {
			t.Fatal(err)
		}
		if str(get(d.obj, "spec", "completionMode")) == "Indexed" {
			n := str(get(d.obj, "spec", "completions"))
			if p, _ := strconv.Atoi(str(get(d.obj, "spec", "parallelism"))); p > len(invs) {
				t.Errorf("%s: parallelism %d above completions %s", d, p, n)
			}
			for _, inv := range invs {
				if v := flagValue(inv.argv, "--shards"); v != n {
					t.Errorf("%s: --shards %q, completions %s: one shard per index", inv.where, v, n)
				}
				shards = append(shards, flagValue(inv.argv, "-o"))
			}
		}
		for i, inv := range invs {
			if len(inv.argv) > 0 && inv.argv[0] == "concat" {
				concat = &invs[i]
			}
		}
	}
	if len(shards) == 0 || concat == nil {
		t.Fatalf("want an Indexed Job and a concat Job in deploy/k8s; found %d shards, concat %v", len(shards), concat != nil)
	}
	if inputs := concat.argv[3:]; concat.argv[1] != "-o" || !slices.Equal(inputs, shards) {
		t.Errorf("%s: concat %q, want concat -o OUT followed by the shards the Indexed Job writes, %q", concat.where, concat.argv[1:], shards)
	}
	if out := concat.argv[2]; slices.Contains(shards, out) {
		t.Errorf("%s: concat writes %s, one of its inputs", concat.where, out)
	}
}

// flagValue returns the value after flag in argv ("" when absent).
func flagValue(argv []string, flag string) string {
	for i, a := range argv {
		if a == flag && i+1 < len(argv) {
			return argv[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// TestArgoArtifactRepository: the workflows' artifactRepositoryRef names a
// ConfigMap and key under deploy/argo whose S3 credentials are the Secret's.
func TestArgoArtifactRepository(t *testing.T) {
	docs, err := loadDocs("argo")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range docs {
		ref := get(d.obj, "spec", "artifactRepositoryRef")
		if ref == nil {
			continue
		}
		found = true
		cm, key := str(get(ref, "configMap")), str(get(ref, "key"))
		i := slices.IndexFunc(docs, func(c doc) bool { return c.kind() == "ConfigMap" && c.name() == cm })
		if i < 0 {
			t.Errorf("%s: artifactRepositoryRef: no ConfigMap %q under deploy/argo", d, cm)
			continue
		}
		var repo map[string]any
		if err := yaml.Unmarshal([]byte(str(get(docs[i].obj, "data", key))), &repo); err != nil || repo == nil {
			t.Errorf("%s: key %q: %v (want an artifact repository)", docs[i], key, err)
			continue
		}
		for _, k := range []string{"accessKeySecret", "secretKeySecret"} {
			if name := str(get(repo, "s3", k, "name")); name != secret {
				t.Errorf("%s: s3.%s.name %q, want %q", docs[i], k, name, secret)
			}
		}
		if e := str(get(repo, "s3", "endpoint")); e == "" || strings.Contains(e, "://") {
			t.Errorf("%s: s3.endpoint %q: want host[:port], without a scheme", docs[i], e)
		}
	}
	if !found {
		t.Error("no workflow under deploy/argo sets artifactRepositoryRef")
	}
}

// recordScript runs an sh -c invocation with every stage replaced by a
// recorder and returns the command line of each stage it ran, in order.
func recordScript(t *testing.T, inv invocation, stages []string) [][]string {
	t.Helper()
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	// Each call appends its argument count, its name and its arguments,
	// each ended by a NUL byte.
	recorder := "#!/bin/sh\nprintf '%s\\0' \"$#\" \"${0##*/}\" \"$@\" >>\"$SIAMPIPE_RECORD\"\n"
	for _, s := range stages {
		if err := os.WriteFile(filepath.Join(dir, s), []byte(recorder), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", inv.argv[1:]...)
	cmd.Env = append([]string{"PATH=" + dir, "SIAMPIPE_RECORD=" + record}, inv.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", inv.where, err, out)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("%s: the script ran no stage: %v", inv.where, err)
	}
	fields := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	var calls [][]string
	for len(fields) > 0 {
		n, err := strconv.Atoi(fields[0])
		if err != nil || len(fields) < n+2 {
			t.Fatalf("%s: bad record %q", inv.where, b)
		}
		calls = append(calls, fields[1:n+2])
		fields = fields[n+2:]
	}
	return calls
}

// TestArgoConcatJoinsTheShardsEmbedWrites: in every Argo workflow, each
// concat joins shards 0..N-1 of one embed fan-out, in order, N being the
// shards parameter, and every shard embed writes is joined once.
func TestArgoConcatJoinsTheShardsEmbedWrites(t *testing.T) {
	docs, err := loadDocs("argo")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if !slices.Contains([]string{"Workflow", "WorkflowTemplate", "CronWorkflow"}, d.kind()) {
			continue
		}
		w, err := argoSpec(d, docs)
		if err != nil {
			t.Fatal(err)
		}
		invs, err := w.invocations()
		if err != nil {
			t.Fatal(err)
		}
		n := w.globals["workflow.parameters.shards"]
		shard := map[string]string{} // shard file -> its index
		var concats [][]string
		for _, inv := range invs {
			for _, call := range stageCalls(t, inv) {
				switch call[0] {
				case "embed":
					i, of, _ := strings.Cut(flagValue(call, "--shard"), "/")
					if of != n {
						t.Errorf("%s: embed --shard %s/%s, want N = the shards parameter, %s", inv.where, i, of, n)
					}
					shard[flagValue(call, "-o")] = i
				case "concat":
					concats = append(concats, call)
				}
			}
		}
		joined := map[string]bool{}
		for _, c := range concats {
			var idx []string
			for _, in := range c[3:] {
				idx = append(idx, shard[in])
				if joined[in] {
					t.Errorf("%s: %s is joined twice", d, in)
				}
				joined[in] = true
			}
			var want []string
			for i := range len(c[3:]) {
				want = append(want, strconv.Itoa(i))
			}
			if c[1] != "-o" || fmt.Sprint(len(c[3:])) != n || !slices.Equal(idx, want) {
				t.Errorf("%s: %s: want concat -o OUT and the %s shards of one embed fan-out in order; their indexes are %q", d, quote(c), n, idx)
			}
		}
		if len(concats) == 0 || len(joined) != len(shard) {
			t.Errorf("%s: embed writes %d shards, concat joins %d", d, len(shard), len(joined))
		}
	}
}

// stageCalls returns the stage command lines of an invocation: itself, or
// those its sh -c script runs.
func stageCalls(t *testing.T, inv invocation) [][]string {
	if shellCommand(inv.argv) == "" {
		return [][]string{inv.argv}
	}
	return recordScript(t, inv, stagesOf(inv))
}
