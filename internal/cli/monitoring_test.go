package cli

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/internal/redistest"
)

// TestMonitoringSeriesExist: every series the shipped Grafana dashboard
// and alert rules (deploy/monitoring) use is served by a running node of a
// Redis cluster, once it had a session and a refused request (the families
// with labels have samples from then on); a histogram's _bucket series
// count as its family.
func TestMonitoringSeriesExist(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	pub, internal := freeAddr(t), freeAddr(t)
	var out lockedBuffer
	startCommand(t, &out, "serve", "--redis", r.URL(), "--listen", pub, "--internal-listen", internal,
		"--stickiness-free", "--cluster-secret", "test-secret", "--recovery", "--node-name", "monitoring")
	waitReady(t, internal, 20*time.Second)
	base := "http://" + pub + "/socket.io/?EIO=4"
	httpBody(t, "GET", base, "") // refused: no transport
	open := httpBody(t, "GET", base+"&transport=polling", "")
	_, rest, _ := strings.Cut(open, `"sid":"`)
	sid, _, _ := strings.Cut(rest, `"`)
	httpBody(t, "POST", base+"&transport=polling&sid="+sid, "1") // the client closes it
	series := regexp.MustCompile(`\b(?:switchboard|go|process)_[a-z0-9_]+\b`)
	var families map[string]bool
	deadline := time.Now().Add(10 * time.Second)
	for _, file := range []string{"../../deploy/monitoring/grafana-dashboard.json", "../../deploy/monitoring/prometheusrule.yaml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := series.FindAllString(string(b), -1)
		if len(names) < 10 {
			t.Fatalf("%s names %d series, expected more", file, len(names))
		}
		for _, name := range names {
			if base, ok := strings.CutSuffix(name, "_bucket"); ok { // a histogram's series
				name = base
			}
			for !families[name] { // the close may still be on its way
				if time.Now().After(deadline) {
					t.Fatalf("%s uses %s, which the node does not serve", file, name)
				}
				families = scrapeFamilies(t, internal)
			}
		}
	}
}

// scrapeFamilies returns the metric families a node's /metrics serves.
func scrapeFamilies(t *testing.T, internal string) map[string]bool {
	t.Helper()
	fams := map[string]bool{}
	for _, line := range strings.Split(httpBody(t, "GET", "http://"+internal+"/metrics", ""), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			fams[strings.Fields(name)[0]] = true
		}
	}
	return fams
}

// httpBody makes one request and returns the response's body.
func httpBody(t *testing.T, method, url, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
