package main

// The peers (issue 16): the servers a Go team would pick instead of
// Switchboard, measured in the same harness. zishang520/socket.io is a
// Socket.IO server and speaks to the same workers; Centrifugo has its own
// protocol (centrifugo.go). Each is built from its own Go module under
// bench/peers/, so the library's go.mod gains none of their dependencies,
// and the binary is cached under ~/.cache/switchboard-bench/ keyed by the
// module's files and the Go version: only the first run on a machine
// builds it.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// allServers is every server kind, in the report's column order.
var allServers = []string{"switchboard", "node", "zishang", "centrifugo"}

// serverNames are the kinds' names in the report.
var serverNames = map[string]string{
	"switchboard": "Switchboard", "node": "Node", "zishang": "zishang520/socket.io",
	"centrifugo": "Centrifugo", "mixed": "mixed",
}

// whyNot says, per server and scenario, why that server does not run it.
var whyNot = map[string]map[string]string{
	"zishang": {
		"WB":    "not run: WB measures the products' whiteboards (switchboard serve, the classic Node app); this peer is a library without one",
		"WBpin": "not run: as WB",
	},
	"centrifugo": {
		"S5":    "not run: Centrifugo does not acknowledge client messages; its RPC is proxied to an application backend, which an ack round trip would measure",
		"S6":    "not run: S6 drives the Go Socket.IO client (reconnect storm) and the server's Socket.IO slow-client handling; Centrifugo's protocol needs its own client",
		"WB":    "not run: WB measures the products' whiteboards (switchboard serve, the classic Node app); Centrifugo has none",
		"WBpin": "not run: as WB",
	},
}

// peer is how a peer's binary is built from its module under bench/peers/.
type peer struct {
	dir   string   // the module
	extra []string // the directories of the main module its build reads (hashed into the cache key)
	// args builds the binary at out, run in dir; version is the peer's
	// version read from the module's go.mod.
	args func(out, version string) []string
	// module is the Go module whose version names the peer.
	module string
}

var peers = map[string]peer{
	"zishang": {
		dir: "bench/peers/zishang",
		// It builds with this module (a replace), so this module's
		// requirements are part of its build.
		extra:  []string{"bench/internal/mono", "bench/internal/bloop", "go.mod", "go.sum"},
		module: "github.com/zishang520/socket.io/servers/socket/v3",
		args: func(out, _ string) []string {
			return []string{"build", "-trimpath", "-o", out, "."}
		},
	},
	"centrifugo": {
		dir:    "bench/peers/centrifugo",
		module: "github.com/centrifugal/centrifugo/v6",
		args: func(out, version string) []string {
			// The version its release builds stamp, so that the binary
			// reports what it is.
			return []string{"build", "-trimpath", "-ldflags",
				"-X github.com/centrifugal/centrifugo/v6/internal/build.Version=" + strings.TrimPrefix(version, "v"),
				"-o", out, "github.com/centrifugal/centrifugo/v6"}
		},
	},
}

var peerBins = map[string]*string{
	"zishang":    flag.String("zishang", "", "prebuilt bench/peers/zishang binary (default: built once and cached under ~/.cache/switchboard-bench/)"),
	"centrifugo": flag.String("centrifugo", "", "prebuilt centrifugo v6 binary (default: built once from bench/peers/centrifugo and cached under ~/.cache/switchboard-bench/)"),
}

// peerBinary returns the binary of peer kind: the one its flag names, or
// the cached build of its module, built now if there is none.
func peerBinary(kind string) (string, error) {
	if p := *peerBins[kind]; p != "" {
		return filepath.Abs(p)
	}
	pr := peers[kind]
	key, err := hashFiles(append([]string{pr.dir}, pr.extra...)...)
	if err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "switchboard-bench", kind+"-"+key[:16])
	bin := filepath.Join(dir, kind)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(pr.dir)
	if err != nil {
		return "", err
	}
	tmp := bin + ".building"
	logf("building %s from %s (once; cached in %s)", kind, pr.dir, dir)
	t0 := time.Now()
	cmd := exec.Command("go", pr.args(tmp, modVersion(pr.dir, pr.module))...)
	cmd.Dir = abs
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s (%s): %w", kind, pr.dir, err)
	}
	logf("built %s in %.0f s", kind, time.Since(t0).Seconds())
	return bin, os.Rename(tmp, bin)
}

// hashFiles returns a hex SHA-256 of the Go version and of the names and
// contents of paths: files, and the regular files directly in directories.
func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	goV, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	h.Write(goV)
	hash := func(name string) error {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
		return nil
	}
	for _, p := range paths {
		ents, err := os.ReadDir(p)
		if err != nil {
			if err := hash(p); err != nil {
				return "", err
			}
			continue
		}
		for _, ent := range ents {
			if ent.Type().IsRegular() {
				if err := hash(filepath.Join(p, ent.Name())); err != nil {
					return "", err
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// modVersion returns the version of module that the go.mod in dir
// requires ("?" if none).
func modVersion(dir, module string) string {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1]
		}
	}
	return "?"
}

// peerVersions describes the peers' versions for the report's header.
func peerVersions() map[string]string {
	return map[string]string{
		"zishang": fmt.Sprintf("servers/socket %s, adapters/redis %s (its sharded adapter in S3)",
			modVersion(peers["zishang"].dir, peers["zishang"].module),
			modVersion(peers["zishang"].dir, "github.com/zishang520/socket.io/adapters/redis/v3")),
		"centrifugo": modVersion(peers["centrifugo"].dir, peers["centrifugo"].module) + ", memory engine, its Redis engine in S3",
	}
}

// skip is a scenario a server does not run, and why.
type skip struct {
	Scenario string `json:"scenario"`
	Server   string `json:"server"`
	Why      string `json:"why"`
}

// skipsOf returns the servers of the run that do not run scenario sc.
func skipsOf(servers []string, sc string) []skip {
	var out []skip
	for _, s := range servers {
		if why, ok := whyNot[s][sc]; ok {
			out = append(out, skip{sc, s, why})
		}
	}
	return out
}

// columns returns the servers that have a column in the tables: those
// measured, or said not to run, in the report, in allServers' order.
func columns(rs []result, skips []skip) []string {
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.Server] = true
	}
	for _, s := range skips {
		seen[s.Server] = true
	}
	var out []string
	for _, s := range allServers {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out
}
