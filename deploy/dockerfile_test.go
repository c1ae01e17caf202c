package deploy_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// dockerStage is one stage of a Dockerfile: its FROM and instructions.
type dockerStage struct {
	from, name string
	lines      []string // instruction lines, continuations joined
}

// parseDockerfile splits a Dockerfile into stages (comments dropped,
// continuation lines joined).
func parseDockerfile(text string) []dockerStage {
	text = regexp.MustCompile(`\\\n\s*`).ReplaceAllString(text, " ")
	var stages []dockerStage
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if strings.EqualFold(f[0], "FROM") {
			s := dockerStage{from: f[len(f)-1]}
			if len(f) >= 4 && strings.EqualFold(f[len(f)-2], "AS") {
				s.from, s.name = f[len(f)-3], f[len(f)-1]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	return stages
}

// TestDockerfileBuildsStaticStagesIntoANonRootImage checks what matters of
// deploy/Dockerfile, which no test here can build: the stages are built
// plainly (CGO_ENABLED=0, every package of stages/) and copied into
// /usr/local/bin of a minimal final image with CA certificates, which runs
// as a numeric non-root user and has the /bin/sh the manifests' scripts
// need.
func TestDockerfileBuildsStaticStagesIntoANonRootImage(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(string(b))
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build.from, "golang:1.26") || build.name == "" {
		t.Errorf("build stage FROM %s AS %q, want golang:1.26 with a name", build.from, build.name)
	}
	if !slices.ContainsFunc(build.lines, func(l string) bool {
		return strings.HasPrefix(l, "RUN ") && strings.Contains(l, "CGO_ENABLED=0 go build") &&
			strings.Contains(l, "-trimpath") && strings.Contains(l, "-buildvcs=false") && strings.HasSuffix(l, "-o /out/ ./stages/...")
	}) {
		t.Errorf("build stage: no RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -o /out/ ./stages/...")
	}

	distroless := strings.HasPrefix(final.from, "gcr.io/distroless/static")
	if !distroless && final.from != "scratch" {
		t.Errorf("final stage FROM %s: want gcr.io/distroless/static-debian12 or scratch", final.from)
	}
	copies := func(src, dst string) bool {
		return slices.ContainsFunc(final.lines, func(l string) bool {
			f := strings.Fields(l)
			return len(f) >= 3 && f[0] == "COPY" && f[len(f)-1] == dst && strings.Contains(l, src) &&
				(slices.Contains(f, "--from="+build.name) || !strings.Contains(l, "--from="))
		})
	}
	if !copies("/out/", "/usr/local/bin/") {
		t.Errorf("final stage: no COPY --from=%s /out/ /usr/local/bin/", build.name)
	}
	if !distroless && !copies("ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt") {
		t.Error("final stage FROM scratch: no CA certificates copied (S3 over TLS needs them)")
	}
	var user string
	for _, l := range final.lines {
		if f := strings.Fields(l); f[0] == "USER" && len(f) == 2 {
			user = f[1]
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(uid) {
		t.Errorf("final stage USER %q: want a numeric non-root user (runAsNonRoot can verify only a number)", user)
	}

	// The manifests' sh -c scripts need a shell in the image.
	docs, err := loadDocs(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		invs, _ := docInvocations(d, docs)
		for _, inv := range invs {
			if shellCommand(inv.argv) != "" && !copies("", "/bin/sh") {
				t.Fatalf("%s runs sh -c, and the final image has no /bin/sh", inv.where)
			}
		}
	}
}
