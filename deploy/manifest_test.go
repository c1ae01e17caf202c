package deploy_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// doc is one YAML document of a manifest file.
type doc struct {
	file string // relative to deploy/
	obj  map[string]any
}

func (d doc) kind() string { return str(d.obj["kind"]) }
func (d doc) name() string { return str(get(d.obj, "metadata", "name")) }

func (d doc) String() string {
	n := d.name()
	if n == "" {
		n = str(get(d.obj, "metadata", "generateName")) + "*"
	}
	return d.file + ": " + d.kind() + " " + n
}

// loadDocs reads every document of the YAML files under dir.
func loadDocs(dir string) ([]doc, error) {
	files, err := manifestFiles(dir)
	if err != nil {
		return nil, err
	}
	var docs []doc
	for _, f := range files {
		r, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(r)
		for {
			var obj map[string]any
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if obj != nil {
				docs = append(docs, doc{file: f, obj: obj})
			}
		}
		r.Close()
	}
	return docs, nil
}

// manifestFiles lists the .yaml and .yml files under dir, relative to it.
func manifestFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// get walks nested mappings by key; nil when a key is missing.
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, str(x))
	}
	return out
}

// invocation is one container as it would run: its command and arguments
// with every placeholder resolved and $(VAR) expanded as the kubelet does.
type invocation struct {
	where    string   // manifest, object, template or index, container
	rawImage string   // the image field as written
	image    string   // resolved
	argv     []string // command then args
	env      []string // NAME=value, in the container's order
	secrets  []string // Secrets of envFrom
}

// Plausible values for what only exists in a cluster: the S3 Secret's keys
// (envFrom) and any secretKeyRef or fieldRef.
var secretEnv = []string{
	"AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=example-secret",
	"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=https://s3.example.com",
}

// containerInvocation builds the invocation of container c, after subst
// (Argo's placeholders; nil for a plain Kubernetes object) and with extra
// appended to its environment (JOB_COMPLETION_INDEX, which the Job
// controller adds after the container's own variables).
func containerInvocation(where string, c map[string]any, subst func(string) (string, error), extra ...string) (invocation, error) {
	var errs []error
	s := func(v string) string {
		if subst == nil {
			return v
		}
		out, err := subst(v)
		if err != nil {
			errs = append(errs, err)
		}
		return out
	}
	if name := str(c["name"]); name != "" {
		where += ", container " + name
	}
	inv := invocation{where: where, rawImage: str(c["image"])}
	inv.image = s(inv.rawImage)
	vars := map[string]string{}
	define := func(kv string) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
		inv.env = append(inv.env, kv)
	}
	for _, ef := range list(c["envFrom"]) {
		if name := str(get(ef, "secretRef", "name")); name != "" {
			inv.secrets = append(inv.secrets, name)
			for _, kv := range secretEnv {
				define(kv)
			}
		}
	}
	for _, e := range list(c["env"]) {
		name, value := str(get(e, "name")), s(str(get(e, "value")))
		if get(e, "valueFrom") != nil {
			value = "from-" + name
		}
		// An env value sees only the variables defined before it.
		define(name + "=" + kubeExpand(value, vars))
	}
	for _, kv := range extra {
		define(kv)
	}
	for _, a := range append(strs(c["command"]), strs(c["args"])...) {
		inv.argv = append(inv.argv, kubeExpand(s(a), vars))
	}
	if len(inv.argv) == 0 {
		errs = append(errs, errors.New("no command: the image has no entrypoint; give command"))
	}
	if err := errors.Join(errs...); err != nil {
		return inv, fmt.Errorf("%s: %w", inv.where, err)
	}
	return inv, nil
}

// kubeExpand expands $(VAR) from vars as the kubelet does in command, args
// and env values: $$ is a literal $, and a reference to an undefined
// variable stays as written.
func kubeExpand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// undefinedRef finds a $(NAME) left unexpanded: a variable the container
// does not define, which the kubelet would pass on as written.
var undefinedRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// jobInvocations returns the containers of a Job's pod template, once per
// completion index for an Indexed Job.
func jobInvocations(d doc) ([]invocation, error) {
	pod := get(d.obj, "spec", "template", "spec")
	containers := append(list(get(pod, "initContainers")), list(get(pod, "containers"))...)
	if len(containers) == 0 {
		return nil, fmt.Errorf("%s: no containers", d)
	}
	indexes := []int{-1}
	if str(get(d.obj, "spec", "completionMode")) == "Indexed" {
		n, err := strconv.Atoi(str(get(d.obj, "spec", "completions")))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: an Indexed Job needs completions, got %q", d, str(get(d.obj, "spec", "completions")))
		}
		indexes = indexes[:0]
		for i := range n {
			indexes = append(indexes, i)
		}
	}
	var out []invocation
	var errs []error
	for _, i := range indexes {
		where, extra := d.String(), []string(nil)
		if i >= 0 {
			where += fmt.Sprintf(", index %d", i)
			extra = []string{"JOB_COMPLETION_INDEX=" + strconv.Itoa(i)}
		}
		for _, c := range containers {
			inv, err := containerInvocation(where, c.(map[string]any), nil, extra...)
			errs = append(errs, err)
			out = append(out, inv)
		}
	}
	return out, errors.Join(errs...)
}

// argoWorkflow is a workflow spec ready to walk: its templates and the
// values of its global placeholders.
type argoWorkflow struct {
	where     string
	spec      any
	templates map[string]map[string]any
	globals   map[string]string
}

// argoSpec resolves d (a Workflow, WorkflowTemplate or CronWorkflow) to the
// spec that runs and its parameters: a workflowTemplateRef is looked up
// among docs, the referring spec's arguments override the template's, and
// an argument the template does not declare is an error.
func argoSpec(d doc, docs []doc) (*argoWorkflow, error) {
	spec := get(d.obj, "spec")
	base := d.name()
	switch d.kind() {
	case "CronWorkflow":
		spec = get(spec, "workflowSpec")
	case "Workflow":
		if base == "" {
			base = strings.TrimSuffix(str(get(d.obj, "metadata", "generateName")), "-")
		}
	}
	w := &argoWorkflow{where: d.String(), spec: spec, globals: map[string]string{
		"workflow.name": base + "-x7k2p", // a generated name
	}}
	params := map[string]string{}
	overrides := list(get(spec, "arguments", "parameters"))
	if ref := str(get(spec, "workflowTemplateRef", "name")); ref != "" {
		i := slices.IndexFunc(docs, func(t doc) bool { return t.kind() == "WorkflowTemplate" && t.name() == ref })
		if i < 0 {
			return nil, fmt.Errorf("%s: workflowTemplateRef %q: no WorkflowTemplate of that name under deploy/", d, ref)
		}
		w.spec = get(docs[i].obj, "spec")
		for _, p := range list(get(w.spec, "arguments", "parameters")) {
			params[str(get(p, "name"))] = str(get(p, "value"))
		}
		for _, p := range overrides {
			if _, ok := params[str(get(p, "name"))]; !ok {
				return nil, fmt.Errorf("%s: parameter %q: the WorkflowTemplate %s declares no such parameter", d, str(get(p, "name")), ref)
			}
		}
	}
	for _, p := range overrides {
		params[str(get(p, "name"))] = str(get(p, "value"))
	}
	for k, v := range params {
		w.globals["workflow.parameters."+k] = v
	}
	w.templates = map[string]map[string]any{}
	for _, t := range list(get(w.spec, "templates")) {
		tm, _ := t.(map[string]any)
		w.templates[str(tm["name"])] = tm
	}
	if len(w.templates) == 0 {
		return nil, fmt.Errorf("%s: no templates", d)
	}
	return w, nil
}

// placeholder matches Argo's {{name}}; {{=expression}} is not supported.
var placeholder = regexp.MustCompile(`{{\s*([^{}]*?)\s*}}`)

// substitute replaces the placeholders of s from vars; one it does not know
// is an error.
func substitute(s string, vars map[string]string) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		if v, ok := vars[name]; ok {
			return v
		}
		missing = append(missing, m)
		return m
	})
	if missing != nil {
		return out, fmt.Errorf("unresolved %s in %q", strings.Join(missing, ", "), s)
	}
	return out, nil
}

// invocations walks the workflow from its entrypoint: DAG tasks and steps
// with their loops (withItems, withSequence) and arguments, down to every
// container, script and container set, each with its placeholders filled.
func (w *argoWorkflow) invocations() ([]invocation, error) {
	entry := str(get(w.spec, "entrypoint"))
	if entry == "" {
		return nil, fmt.Errorf("%s: no entrypoint", w.where)
	}
	var out []invocation
	err := w.walk(entry, map[string]string{}, w.where, &out, 0)
	return out, err
}

func (w *argoWorkflow) walk(name string, args map[string]string, where string, out *[]invocation, depth int) error {
	t, ok := w.templates[name]
	if !ok {
		return fmt.Errorf("%s: no template %q", where, name)
	}
	if depth > 20 {
		return fmt.Errorf("%s: templates nested deeper than 20 (a cycle?)", where)
	}
	where += ", template " + name
	vars := map[string]string{}
	for k, v := range w.globals {
		vars[k] = v
	}
	for _, p := range list(get(t, "inputs", "parameters")) {
		pn := str(get(p, "name"))
		v, ok := args[pn]
		if !ok {
			v, ok = str(get(p, "value")), get(p, "value") != nil
		}
		if !ok {
			v, ok = str(get(p, "default")), get(p, "default") != nil
		}
		if !ok {
			return fmt.Errorf("%s: no value for input parameter %q", where, pn)
		}
		vars["inputs.parameters."+pn] = v
	}
	for k := range args {
		if _, ok := vars["inputs.parameters."+k]; !ok {
			return fmt.Errorf("%s: argument %q: the template declares no such input parameter", where, k)
		}
	}
	subst := func(s string) (string, error) { return substitute(s, vars) }
	var errs []error

	// Strings outside the containers must resolve too (artifact keys).
	for _, part := range []string{"outputs", "inputs"} {
		walkStrings(get(t, part), func(s string) {
			if _, err := subst(s); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", where, part, err))
			}
		})
	}

	var tasks []any // DAG tasks, or steps (a list of parallel lists)
	tasks = append(tasks, list(get(t, "dag", "tasks"))...)
	for _, group := range list(get(t, "steps")) {
		tasks = append(tasks, list(group)...)
	}
	names := map[string]bool{}
	for _, task := range tasks {
		names[str(get(task, "name"))] = true
	}
	for _, task := range tasks {
		tn := str(get(task, "name"))
		for _, dep := range strs(get(task, "dependencies")) {
			if !names[dep] {
				errs = append(errs, fmt.Errorf("%s: task %s depends on %q, which is no task here", where, tn, dep))
			}
		}
		for _, a := range list(get(task, "arguments", "artifacts")) {
			if err := w.checkFrom(str(get(a, "from")), task, tasks); err != nil {
				errs = append(errs, fmt.Errorf("%s: task %s: artifact %s: %w", where, tn, str(get(a, "name")), err))
			}
		}
		items, err := loopItems(task, subst)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: task %s: %w", where, tn, err))
			continue
		}
		for _, item := range items {
			iv := vars
			taskWhere := where + ", task " + tn
			if item != nil {
				iv = map[string]string{"item": *item}
				for k, v := range vars {
					iv[k] = v
				}
				taskWhere += " item " + *item
			}
			targs := map[string]string{}
			for _, p := range list(get(task, "arguments", "parameters")) {
				v, err := substitute(str(get(p, "value")), iv)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", taskWhere, err))
				}
				targs[str(get(p, "name"))] = v
			}
			errs = append(errs, w.walk(str(get(task, "template")), targs, taskWhere, out, depth+1))
		}
	}

	var containers []map[string]any
	if c, ok := get(t, "container").(map[string]any); ok {
		containers = append(containers, c)
	}
	if sc, ok := get(t, "script").(map[string]any); ok {
		// Argo runs command with a file holding source; as sh -c here.
		c := map[string]any{}
		for k, v := range sc {
			c[k] = v
		}
		c["args"] = []any{"-c", str(sc["source"])}
		containers = append(containers, c)
	}
	for _, c := range list(get(t, "containerSet", "containers")) {
		containers = append(containers, c.(map[string]any))
	}
	for _, c := range containers {
		inv, err := containerInvocation(where, c, subst)
		errs = append(errs, err)
		*out = append(*out, inv)
	}
	return errors.Join(errs...)
}

// loopItems returns the items a task runs for: one nil item without a loop.
func loopItems(task any, subst func(string) (string, error)) ([]*string, error) {
	if get(task, "withParam") != nil {
		return nil, errors.New("withParam: not supported by this test (use withItems or withSequence)")
	}
	var items []*string
	if wi := list(get(task, "withItems")); wi != nil {
		for _, it := range wi {
			if _, ok := it.(map[string]any); ok {
				return nil, errors.New("withItems of objects: not supported by this test")
			}
			s := str(it)
			items = append(items, &s)
		}
		return items, nil
	}
	seq, ok := get(task, "withSequence").(map[string]any)
	if !ok {
		return []*string{nil}, nil
	}
	if seq["format"] != nil {
		return nil, errors.New("withSequence format: not supported by this test")
	}
	num := func(key string, def int) (int, error) {
		if seq[key] == nil {
			return def, nil
		}
		s, err := subst(str(seq[key]))
		if err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("withSequence %s %q: not an integer", key, s)
		}
		return n, nil
	}
	start, err := num("start", 0)
	if err != nil {
		return nil, err
	}
	end := start - 1
	if seq["count"] != nil {
		count, err := num("count", 0)
		if err != nil {
			return nil, err
		}
		if count < 1 {
			return nil, fmt.Errorf("withSequence count %d: runs nothing", count)
		}
		end = start + count - 1
	} else if end, err = num("end", 0); err != nil {
		return nil, err
	}
	for i := start; i <= end; i++ {
		s := strconv.Itoa(i)
		items = append(items, &s)
	}
	return items, nil
}

// fromTask matches an artifact reference to another task's output.
var fromTask = regexp.MustCompile(`^{{tasks\.([A-Za-z0-9-]+)\.outputs\.artifacts\.([A-Za-z0-9_-]+)}}$`)

// checkFrom checks that an artifact's from names an output artifact of a
// task this one depends on.
func (w *argoWorkflow) checkFrom(from string, task any, tasks []any) error {
	m := fromTask.FindStringSubmatch(from)
	if m == nil {
		return fmt.Errorf("from %q: want {{tasks.NAME.outputs.artifacts.NAME}}", from)
	}
	if !slices.Contains(strs(get(task, "dependencies")), m[1]) {
		return fmt.Errorf("from %q: the task does not depend on %s", from, m[1])
	}
	for _, other := range tasks {
		if str(get(other, "name")) != m[1] {
			continue
		}
		for _, a := range list(get(w.templates[str(get(other, "template"))], "outputs", "artifacts")) {
			if str(get(a, "name")) == m[2] {
				return nil
			}
		}
		return fmt.Errorf("from %q: task %s's template has no output artifact %s", from, m[1], m[2])
	}
	return fmt.Errorf("from %q: no task %s", from, m[1])
}

// walkStrings calls f on every string inside v.
func walkStrings(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, x := range v {
			walkStrings(x, f)
		}
	case map[string]any:
		for _, x := range v {
			walkStrings(x, f)
		}
	}
}

// docInvocations returns the invocations of any document that runs
// containers (Jobs and Argo workflows); nil for others (ConfigMaps).
func docInvocations(d doc, docs []doc) ([]invocation, error) {
	switch d.kind() {
	case "Job":
		return jobInvocations(d)
	case "Workflow", "WorkflowTemplate", "CronWorkflow":
		w, err := argoSpec(d, docs)
		if err != nil {
			return nil, err
		}
		return w.invocations()
	case "ConfigMap", "Secret", "Service":
		return nil, nil
	}
	return nil, fmt.Errorf("%s: kind %q: this test does not know how to find its containers", d, d.kind())
}

// Words of POSIX sh (dash, busybox ash) that a manifest's script may use:
// shellPrefix ones come before the command they run, shellBuiltins are
// commands of the shell itself, no stage.
var (
	shellPrefix   = wordSet("if then elif else while until do ! { exec")
	shellBuiltins = wordSet("set [ test : true false shift export printf echo exit return cd wait trap unset read done fi } esac")
)

func wordSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// shellCommand returns the script of an sh -c invocation, or "".
func shellCommand(argv []string) string {
	if len(argv) >= 3 && (argv[0] == "sh" || argv[0] == "/bin/sh") && argv[1] == "-c" {
		return argv[2]
	}
	return ""
}

var (
	shellComment    = regexp.MustCompile(`(?m)(^|\s)#.*$`)
	shellArithmetic = regexp.MustCompile(`\$\(\([^()]*\)\)`)
	shellQuoted     = regexp.MustCompile(`"[^"]*"|'[^']*'`)
	shellSeparator  = regexp.MustCompile(`\n|;|\|\||&&|\|`)
	assignment      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// scriptCommands returns the commands an sh script runs that are not the
// shell's own: the first word of every simple command, after comments,
// arithmetic and quoted strings are set aside, splitting on newlines, ;, |,
// && and ||. for and case lines are skipped; a script this does not follow
// is best written simpler.
func scriptCommands(script string) []string {
	script = strings.ReplaceAll(script, "\\\n", " ")
	script = shellComment.ReplaceAllString(script, "")
	script = shellArithmetic.ReplaceAllString(script, "0")
	script = shellQuoted.ReplaceAllString(script, "Q")
	var cmds []string
	for _, part := range shellSeparator.Split(script, -1) {
		words := strings.Fields(part)
		for len(words) > 0 && (shellPrefix[words[0]] || assignment.MatchString(words[0])) {
			words = words[1:]
		}
		if len(words) == 0 || shellBuiltins[words[0]] || words[0] == "for" || words[0] == "case" {
			continue
		}
		cmds = append(cmds, words[0])
	}
	return cmds
}

// stagesOf returns the stages an invocation runs: its command, or the
// commands of its sh -c script.
func stagesOf(inv invocation) []string {
	if script := shellCommand(inv.argv); script != "" {
		return scriptCommands(script)
	}
	if len(inv.argv) == 0 {
		return nil
	}
	return inv.argv[:1]
}
