package config

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/internal/realip"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":3000" || c.Path != "/socket.io/" || c.PingInterval != 25*time.Second ||
		c.PingTimeout != 20*time.Second || c.MaxPayload != 1_000_000 || c.RedisURL != "" || c.NodeName == "" ||
		c.MemoryLimitRatio != 0.9 || !c.SettleGC {
		t.Fatalf("defaults: %+v", c)
	}
	for _, args := range [][]string{{"--memory-limit-ratio", "0", "--settle-gc=false"}, {"--memory-limit-ratio", "1"}} {
		c, err := Parse(args, env(nil), io.Discard)
		if err != nil || (args[1] == "0" && (c.MemoryLimitRatio != 0 || c.SettleGC)) {
			t.Errorf("Parse(%q): %+v, %v", args, c, err)
		}
	}
}

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	t.Parallel()
	e := env(map[string]string{
		"SWITCHBOARD_LISTEN": ":4000", "SWITCHBOARD_NODE_NAME": "from-env",
		"SWITCHBOARD_PING_INTERVAL": "2s", "SWITCHBOARD_CORS_ORIGINS": "https://a.example, https://b.example",
	})
	c, err := Parse([]string{"--node-name", "from-flag"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":4000" || c.NodeName != "from-flag" || c.PingInterval != 2*time.Second {
		t.Fatalf("got %+v", c)
	}
	if len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "https://b.example" {
		t.Fatalf("cors = %q", c.CORSOrigins)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--ping-interval", "0s"}, nil, "ping-interval"},
		{[]string{"--log-level", "loud"}, nil, "log-level"},
		{[]string{"--log-format", "xml"}, nil, "log-format"},
		{[]string{"--path", "socket.io"}, nil, "path"},
		{[]string{"--drain-window", "40s"}, nil, "drain-window"},
		{[]string{"--write-delay", "-1ms"}, nil, "write-delay"},
		{[]string{"--parser", "cbor"}, nil, "parser must be json or msgpack"},
		{[]string{"--memory-limit-ratio", "1.01"}, nil, "memory-limit-ratio must be between 0 and 1"},
		{[]string{"--memory-limit-ratio", "-0.1"}, nil, "memory-limit-ratio must be between 0 and 1"},
		{nil, map[string]string{"SWITCHBOARD_MAX_PAYLOAD": "lots"}, "SWITCHBOARD_MAX_PAYLOAD"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--admin-auth", "admin:s3cret"}, nil, "never in plain text"},
		{[]string{"--admin-auth", "s3cret"}, nil, "user:bcrypt-hash"},
		{[]string{"--admin-mode", "loud"}, nil, "admin-mode"},
		{[]string{"--admin-ui-path", "/admin"}, nil, "admin-ui-path"},
	}
	for _, tc := range cases {
		_, err := Parse(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %v) = %v, want error mentioning %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// TestReadmeFlagsTable keeps the README's flags table in step with the code.
func TestReadmeFlagsTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings() {
		row := "| `--" + s.Flag + "` | `" + s.Env + "` | `" + s.Default + "` | " + s.Usage + " |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks the row:\n%s", row)
		}
	}
}

func TestCORSCredentialsNeedExplicitOrigins(t *testing.T) {
	t.Parallel()
	if _, err := Parse([]string{"--cors-credentials", "--cors-origins", "*"}, env(nil), io.Discard); err == nil {
		t.Fatal("credentials with * must be refused")
	}
	c, err := Parse([]string{"--cors-credentials", "--cors-origins", "https://a.example"}, env(nil), io.Discard)
	if err != nil || !c.CORSCredentials {
		t.Fatalf("got %v %+v", err, c)
	}
}

func TestClientAddressSettings(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil || !c.TrustedProxies.Empty() || c.ForwardedHeader != realip.XForwardedFor || c.ProxyProtocol {
		t.Fatalf("defaults: %v %+v", err, c)
	}
	e := env(map[string]string{"SWITCHBOARD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7",
		"SWITCHBOARD_FORWARDED_HEADER": "forwarded", "SWITCHBOARD_PROXY_PROTOCOL": "true"})
	c, err = Parse(nil, e, io.Discard)
	if err != nil || c.TrustedProxies.String() != "10.0.0.0/8,192.0.2.7/32" || c.ForwardedHeader != realip.Forwarded || !c.ProxyProtocol {
		t.Fatalf("from the environment: %v %+v", err, c)
	}
	c, err = Parse([]string{"--trusted-proxies", "fd00::/8"}, e, io.Discard)
	if err != nil || c.TrustedProxies.String() != "fd00::/8" {
		t.Fatalf("the flag must replace the environment's list: %v %q", err, c.TrustedProxies.String())
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, nil, "10.0.0.0/33"},
		{nil, map[string]string{"SWITCHBOARD_TRUSTED_PROXIES": "lb.example"}, "SWITCHBOARD_TRUSTED_PROXIES"},
		{[]string{"--forwarded-header", "X-Real-IP"}, nil, "X-Real-IP"},
		{[]string{"--proxy-protocol"}, nil, "proxy-protocol needs --trusted-proxies"},
	} {
		if _, err := Parse(tc.args, env(tc.env), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %v) = %v, want an error mentioning %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestBoardLimits(t *testing.T) {
	t.Parallel()
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil || c.MaxBoardEntries != 20_000 || c.BoardTTL != 7*24*time.Hour || c.MaxBoards != 100 {
		t.Fatalf("defaults: %v %+v", err, c)
	}
	e := env(map[string]string{"SWITCHBOARD_MAX_BOARD_ENTRIES": "1", "SWITCHBOARD_BOARD_TTL": "1s", "SWITCHBOARD_MAX_BOARDS": "1"})
	c, err = Parse(nil, e, io.Discard)
	if err != nil || c.MaxBoardEntries != 1 || c.BoardTTL != time.Second || c.MaxBoards != 1 {
		t.Fatalf("the smallest limits, from the environment: %v %+v", err, c)
	}
	c, err = Parse([]string{"--max-board-entries", "300000", "--board-ttl", "1h", "--max-boards", "7"}, e, io.Discard)
	if err != nil || c.MaxBoardEntries != 300_000 || c.BoardTTL != time.Hour || c.MaxBoards != 7 {
		t.Fatalf("flags over the environment: %v %+v", err, c)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-board-entries", "0"}, "max-board-entries and max-boards must be positive"},
		{[]string{"--max-boards", "-3"}, "max-board-entries and max-boards must be positive"},
		{[]string{"--board-ttl", "0s"}, "board-ttl 0s: must be at least 1s"},
		{[]string{"--board-ttl", "999ms"}, "board-ttl 999ms: must be at least 1s"},
		{[]string{"--max-board-entries", "lots"}, "max-board-entries"},
	} {
		if _, err := Parse(tc.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestAllowEIO3(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{nil, nil, false},
		{[]string{"--allow-eio3"}, nil, true},
		{nil, map[string]string{"SWITCHBOARD_ALLOW_EIO3": "true"}, true},
		{[]string{"--allow-eio3=false"}, map[string]string{"SWITCHBOARD_ALLOW_EIO3": "true"}, false},
	} {
		c, err := Parse(tc.args, env(tc.env), io.Discard)
		if err != nil || c.AllowEIO3 != tc.want {
			t.Errorf("%v %v: AllowEIO3 %v (%v), want %v", tc.args, tc.env, c != nil && c.AllowEIO3, err, tc.want)
		}
	}
}

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	const hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	c, err := Parse(nil, env(map[string]string{"SWITCHBOARD_ADMIN_AUTH": "admin:" + hash, "SWITCHBOARD_ADMIN_UI": "true"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.AdminUI || c.AdminUsername != "admin" || c.AdminPasswordHash != hash || c.AdminUIPath != "/admin/" {
		t.Fatalf("admin settings %v %q %q %q", c.AdminUI, c.AdminUsername, c.AdminPasswordHash, c.AdminUIPath)
	}
}
