// Package cli implements the switchboard command: its subcommands, logging
// set-up and signal handling. cmd/switchboard only calls Main.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/switchboard-io/switchboard/internal/config"
	"github.com/switchboard-io/switchboard/internal/memtune"
	"github.com/switchboard-io/switchboard/internal/node"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

const usage = `Switchboard: a Socket.IO v4 server for Go that scales out.

Usage:
  switchboard serve [flags]   run a node (the whiteboard demo on :3000 by default)
  switchboard version         print the version
  switchboard healthcheck     exit 0 if the local node's /healthz answers (for container health checks)
  switchboard help            print this help

Run "switchboard serve -h" for the flags; each has a SWITCHBOARD_* environment variable.
`

// Main runs the command with args (without the program name) and returns
// the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return serve(ctx, args[1:], os.Getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(os.Getenv, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func versionString() string {
	v := "switchboard " + Version
	if info, ok := debug.ReadBuildInfo(); ok {
		v += " (" + info.GoVersion
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += ", " + s.Value[:12]
			}
		}
		v += ")"
	}
	return v
}

// serve runs a node until ctx is done, then drains it.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Parse(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "switchboard serve:", err)
		return 2
	}
	log := newLogger(cfg, stdout)
	memtune.ApplyMemoryLimit(cfg.MemoryLimitRatio, "/sys/fs/cgroup", getenv, log)
	cluster, err := newCluster(ctx, cfg, log)
	if err != nil {
		log.Error("cluster set-up failed", "err", err)
		return 1
	}
	n := node.New(cfg, log, cluster)
	if err := n.Start(); err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	if cfg.SettleGC {
		opened := func() int64 { return n.SocketIO().Engine().Stats().Opened }
		go memtune.Settle(ctx, opened, func() {
			log.Debug("garbage of a connection burst collected and returned to the OS")
		})
	}
	<-ctx.Done()
	log.Info("signal received, shutting down", "grace", cfg.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	start := time.Now()
	if err := n.Shutdown(sctx); err != nil {
		log.Error("shutdown incomplete", "err", err, "took", time.Since(start))
		return 1
	}
	log.Info("shutdown complete", "took", time.Since(start))
	return 0
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)).With("node", cfg.NodeName)
	}
	return slog.New(slog.NewTextHandler(w, opts)).With("node", cfg.NodeName)
}

// healthcheck asks the local node's internal listener for /healthz. The
// address comes from SWITCHBOARD_INTERNAL_LISTEN (default :9090); an empty
// host means the loopback address.
func healthcheck(getenv func(string) string, stderr io.Writer) int {
	addr := getenv("SWITCHBOARD_INTERNAL_LISTEN")
	if addr == "" {
		addr = ":9090"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/healthz")
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck: status", resp.Status)
		return 1
	}
	return 0
}
