package main

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDockerfile keeps the Dockerfile (built where an engine runs, which is
// not here) and this offline build in step: the same Go release as go.mod,
// a static build, the same paths, user, port and labels.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Join continuation lines; drop comments.
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	var froms []string
	instr := map[string][]string{}
	for _, l := range lines {
		op, rest, _ := strings.Cut(l, " ")
		op = strings.ToUpper(op)
		if op == "FROM" {
			froms = append(froms, rest)
			instr = map[string][]string{} // keep the final stage's only
		}
		instr[op] = append(instr[op], rest)
	}
	if len(froms) != 2 {
		t.Fatalf("want a build stage and a runtime stage, got FROM %q", froms)
	}

	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if !strings.Contains(string(b), "ARG GO_VERSION="+string(goLine[1])+"\n") || !strings.Contains(froms[0], "golang:${GO_VERSION}") {
		t.Errorf("the build stage is not golang:%s (go.mod's release): FROM %s", goLine[1], froms[0])
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0") || !strings.Contains(string(b), "-o /out/fleetsim ./cmd/fleetsim") {
		t.Error("the build stage does not build ./cmd/fleetsim with CGO_ENABLED=0")
	}
	if !strings.HasPrefix(froms[1], "gcr.io/distroless/static") || !strings.HasSuffix(froms[1], ":nonroot") {
		t.Errorf("runtime stage %q, want distroless static nonroot", froms[1])
	}
	uid := strconv.Itoa(NonrootUID)
	for op, want := range map[string]string{
		"ENTRYPOINT": `["` + BinaryPath + `"]`,
		"USER":       uid + ":" + uid,
		"WORKDIR":    DataDir,
		"VOLUME":     DataDir,
		"EXPOSE":     strconv.Itoa(Port),
		"CMD":        `["--help"]`,
	} {
		if got := instr[op]; len(got) != 1 || got[0] != want {
			t.Errorf("%s %q, want %s", op, got, want)
		}
	}
	copies := strings.Join(instr["COPY"], "\n")
	if !strings.Contains(copies, "/out/fleetsim "+BinaryPath) || !strings.Contains(copies, "--chown="+uid+":"+uid+" /out/data "+DataDir) {
		t.Errorf("COPY %q: want the binary at %s and %s owned by %s", instr["COPY"], BinaryPath, DataDir, uid)
	}
	labels := strings.Join(instr["LABEL"], " ")
	for k := range (Options{Version: "v", Revision: "r", Source: "s", Licenses: "l"}).Labels() {
		if k == "org.opencontainers.image.created" {
			continue // BuildKit's own provenance; no fixed value in a Dockerfile
		}
		if !strings.Contains(labels, k+"=") {
			t.Errorf("the Dockerfile has no label %s", k)
		}
	}
}
