package verify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// No Dockerfile linter is packaged for Debian (hadolint is not in bookworm)
// and only the Go module proxy, npm and apt are reachable here, so the
// Dockerfile's essentials are checked by this test. The build command
// itself is kept equal to `make image-binary` by internal/cli's test.

type instruction struct {
	cmd  string // upper case: FROM, RUN, USER, ...
	args string
	line int
}

// parseDockerfile splits a Dockerfile into instructions, joining
// backslash continuations and dropping comments.
func parseDockerfile(t *testing.T, path string) [][]instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var buf strings.Builder
	start := 0
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if buf.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if buf.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(trimmed, "\\") {
			buf.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		buf.WriteString(trimmed)
		full := buf.String()
		buf.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s:%d: %s before the first FROM", path, in.line, in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

func find(stage []instruction, cmd string) []instruction {
	var out []instruction
	for _, in := range stage {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm parses a JSON array argument (CMD ["a", "b"]).
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	args := strings.TrimSpace(in.args)
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		t.Fatalf("line %d: %s %s: not the exec (JSON array) form: %v", in.line, in.cmd, in.args, err)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(repoRoot, "deploy", "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("%d stage(s): want a multi-stage build (the toolchain stays out of the image)", len(stages))
	}
	final := stages[len(stages)-1]
	from := final[0].args
	if !regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?(:[\w.-]+)?(@sha256:[0-9a-f]+)?$`).MatchString(from) {
		t.Errorf("final stage FROM %q: want gcr.io/distroless/static (a static binary needs no libc)", from)
	}

	// The binary is built static.
	built := false
	for _, st := range stages[:len(stages)-1] {
		for _, in := range find(st, "RUN") {
			if strings.Contains(in.args, "go build") {
				built = true
				if !strings.Contains(in.args, "CGO_ENABLED=0") {
					t.Errorf("line %d: go build without CGO_ENABLED=0 (distroless/static has no libc)", in.line)
				}
			}
		}
	}
	if !built {
		t.Error("no build stage runs go build")
	}

	// Non-root, numerically, matching the Deployment's runAsUser:
	// runAsNonRoot can only verify a numeric USER.
	users := find(final, "USER")
	if len(users) == 0 {
		t.Fatal("final stage has no USER: the image would run as root")
	}
	user := users[len(users)-1].args
	uidStr, gidStr, _ := strings.Cut(user, ":")
	uid, err := strconv.Atoi(uidStr)
	if err != nil {
		t.Fatalf("USER %q is not numeric: Kubernetes' runAsNonRoot cannot verify a user name", user)
	}
	if uid == 0 || gidStr == "0" {
		t.Errorf("USER %q is root", user)
	}
	b := render(t, "base")
	d, c := b.app(t)
	if ps := d.Spec.Template.Spec.SecurityContext; ps != nil && ps.RunAsUser != nil && int(*ps.RunAsUser) != uid {
		t.Errorf("Deployment runAsUser %d, image USER %d", *ps.RunAsUser, uid)
	}

	// HEALTHCHECK runs the binary's own healthcheck (no shell, no curl in
	// distroless).
	hc := find(final, "HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatalf("final stage has %d HEALTHCHECK instructions, want 1", len(hc))
	}
	_, cmdPart, ok := strings.Cut(hc[0].args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %q has no CMD", hc[0].args)
	}
	hcArgs := execForm(t, instruction{cmd: "HEALTHCHECK", args: cmdPart, line: hc[0].line})

	ep := find(final, "ENTRYPOINT")
	if len(ep) != 1 {
		t.Fatalf("final stage has %d ENTRYPOINT instructions, want 1", len(ep))
	}
	entry := execForm(t, ep[0])
	if len(entry) != 1 || len(hcArgs) != 2 || hcArgs[0] != entry[0] || hcArgs[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK CMD %q, want [%q \"healthcheck\"] (the ENTRYPOINT binary)", hcArgs, entry)
	}
	copied := false
	for _, in := range find(final, "COPY") {
		f := strings.Fields(in.args)
		if strings.HasPrefix(f[0], "--from=") && f[len(f)-1] == entry[0] {
			copied = true
		}
	}
	if !copied {
		t.Errorf("ENTRYPOINT %s is not copied from a build stage", entry[0])
	}

	// The image's defaults agree with the binary and the Deployment.
	settings := binarySettings(t)
	var exposed []int32
	for _, in := range find(final, "EXPOSE") {
		for _, p := range strings.Fields(in.args) {
			n, err := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
			if err != nil {
				t.Fatalf("EXPOSE %q: %v", p, err)
			}
			exposed = append(exposed, int32(n))
		}
	}
	slices.Sort(exposed)
	a, bb := mustPort(t, settings["SWITCHBOARD_LISTEN"].Default), mustPort(t, settings["SWITCHBOARD_INTERNAL_LISTEN"].Default)
	if want := []int32{min(a, bb), max(a, bb)}; !slices.Equal(exposed, want) {
		t.Errorf("EXPOSE %v, the binary listens on %v by default", exposed, want)
	}
	if cmds := find(final, "CMD"); len(cmds) == 1 {
		if got := execForm(t, cmds[0]); !slices.Equal(got, c.Args) && len(c.Command) == 0 {
			t.Errorf("image CMD %q, Deployment args %q", got, c.Args)
		}
	}
}
