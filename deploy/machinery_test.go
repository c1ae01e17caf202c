package deploy_test

import (
	"slices"
	"strings"
	"testing"
)

func TestKubeExpandIsTheKubelets(t *testing.T) {
	vars := map[string]string{"RUN": "s3://b/p", "JOB_COMPLETION_INDEX": "3"}
	tests := []struct{ in, want string }{
		{"$(RUN)/features-$(JOB_COMPLETION_INDEX).arrows", "s3://b/p/features-3.arrows"},
		{"$(UNDEFINED)/x", "$(UNDEFINED)/x"}, // left as written
		{"$$(RUN)", "$(RUN)"},                // escaped
		{"i=$((i + 1))", "i=$((i + 1))"},     // shell arithmetic is no reference
		{"$RUN and $", "$RUN and $"},
		{"$(RUN", "$(RUN"},
	}
	for _, tc := range tests {
		if got := kubeExpand(tc.in, vars); got != tc.want {
			t.Errorf("kubeExpand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIndexedJobIndexExpandsInArgsNotInEnv(t *testing.T) {
	d := doc{file: "x.yaml", obj: map[string]any{
		"kind": "Job", "metadata": map[string]any{"name": "j"},
		"spec": map[string]any{"completionMode": "Indexed", "completions": 2, "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{
				"name": "c", "image": "i", "command": []any{"embed"},
				"args": []any{"-o", "out-$(JOB_COMPLETION_INDEX)"},
				"env":  []any{map[string]any{"name": "SHARD", "value": "$(JOB_COMPLETION_INDEX)"}},
			}},
		}}},
	}}
	invs, err := jobInvocations(d)
	if err != nil || len(invs) != 2 {
		t.Fatalf("%d invocations, %v", len(invs), err)
	}
	if got := invs[1].argv; !slices.Equal(got, []string{"embed", "-o", "out-1"}) {
		t.Errorf("argv %q", got)
	}
	// The Job controller appends JOB_COMPLETION_INDEX after the container's
	// variables, so an env value cannot use it (kubernetes/kubernetes#121523).
	if !slices.Contains(invs[1].env, "SHARD=$(JOB_COMPLETION_INDEX)") {
		t.Errorf("env %q", invs[1].env)
	}
}

func TestScriptCommandsFindsTheStagesOfAScript(t *testing.T) {
	tests := []struct {
		script string
		want   []string
	}{
		{"augment --epochs \"$E\" -i \"$RUN/a|b.arrows\" |\n  train --seed 1 \\\n  -o x", []string{"augment", "train"}},
		{"set --\ni=0\nwhile [ \"$i\" -lt \"$N\" ]; do\n  set -- \"$@\" x-$i\n  i=$((i + 1))\ndone\nexec concat -o y \"$@\"", []string{"concat"}},
		{"A=1 B=2 fetch --split test && echo done # a comment | not a command", []string{"fetch"}},
		{"if true; then plot --png x; else exit 1; fi", []string{"plot"}},
		{"for s in train test; do embed -i $s; done", []string{"embed"}},
	}
	for _, tc := range tests {
		if got := scriptCommands(tc.script); !slices.Equal(got, tc.want) {
			t.Errorf("scriptCommands(%q) = %q, want %q", tc.script, got, tc.want)
		}
	}
}

func TestSubstituteRefusesUnknownPlaceholders(t *testing.T) {
	vars := map[string]string{"item": "2", "workflow.parameters.shards": "4"}
	if got, err := substitute("--shard {{item}}/{{ workflow.parameters.shards }}", vars); err != nil || got != "--shard 2/4" {
		t.Errorf("got %q, %v", got, err)
	}
	if _, err := substitute("{{inputs.parameters.nope}}", vars); err == nil || !strings.Contains(err.Error(), "unresolved {{inputs.parameters.nope}}") {
		t.Errorf("unknown placeholder: %v", err)
	}
}

// TestCheckInvocationCatchesAnUnknownFlag: the check fails an invocation a
// stage refuses, names the flag, and passes one it accepts.
func TestCheckInvocationCatchesAnUnknownFlag(t *testing.T) {
	bin, stages := buildStages(t)
	good := invocation{where: "good", image: image, argv: []string{"embed", "--model", "s3://b/m.arrows", "-i", "s3://b/i.arrows", "-o", "s3://b/f.arrows"}}
	bad := good
	bad.where, bad.argv = "bad", append(slices.Clone(good.argv), "--no-such-flag", "1")
	pipe := good
	pipe.where, pipe.argv = "pipe", []string{"sh", "-c", "augment --epochs 2 | train --no-such-flag"}
	ran := map[string]bool{}
	if fs := checkInvocation(good, bin, stages, ran); len(fs) != 0 {
		t.Errorf("good: %v", fs)
	}
	for _, inv := range []invocation{bad, pipe} {
		fs := checkInvocation(inv, bin, stages, ran)
		if len(fs) != 1 || !strings.Contains(fs[0].msg, "flag provided but not defined: -no-such-flag") {
			t.Errorf("%s: %v, want one failure naming -no-such-flag", inv.where, fs)
		}
	}
	if !ran["augment"] || !ran["train"] || !ran["embed"] {
		t.Errorf("ran %v", ran)
	}
}
