package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"candor/server/circuit"
)

// BenchmarkCircuitBookkeeping measures what the per-circuit budgets cost a request through the real
// handler path, in one run: requests alternate between a server without circuits ("global": a plain
// loopback listener, circuit.Global, no budget) and one with them ("circuit": a torcircuit listener
// reading tor's PROXY line once per connection, the circuit's key, Allow for the submission and an
// upload slot). The request is a POST /report that the handler refuses after the budgets and the
// upload memory, at its first read (a body that is not multipart), so the handler's own work is
// small and the bookkeeping is as visible as it can be. Both sides use 1,000 keep-alive connections
// (on the circuit side one per circuit), taken in turn, so that only the bookkeeping differs.
// Reports global-ns/req, circuit-ns/req and their ratio.
func BenchmarkCircuitBookkeeping(b *testing.B) {
	huge := circuit.Budgets{Uploads: 1 << 20}
	for k := range huge.Rates {
		huge.Rates[k] = circuit.Rate{Burst: 1 << 30, Per: time.Hour}
	}
	global := newEnv(b, envOptions{reviewers: 1})
	circ := newEnv(b, envOptions{reviewers: 1, circuits: true, keeper: circuit.New(circuit.Config{Circuit: &huge})})
	const circuits = 1000
	gc := make([]*http.Client, circuits)
	cc := make([]*http.Client, circuits)
	for i := range cc {
		gc[i] = global.plainClient()
		gc[i].Transport = &http.Transport{} // its own connection, as each circuit client has
		cc[i] = circ.circuitClient(uint32(i + 1))
	}
	post := func(e *env, c *http.Client) time.Duration {
		start := time.Now()
		resp, err := c.Post(e.url+"/report", "text/plain", strings.NewReader("not a form"))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			b.Fatalf("status %d, want 400 (malformed form)", resp.StatusCode)
		}
		return time.Since(start)
	}
	for i := range circuits { // open every connection first
		post(circ, cc[i])
		post(global, gc[i])
	}
	var tg, tc time.Duration
	i := 0
	for b.Loop() {
		tg += post(global, gc[i%circuits])
		tc += post(circ, cc[i%circuits])
		i++
	}
	b.ReportMetric(float64(tg.Nanoseconds())/float64(i), "global-ns/req")
	b.ReportMetric(float64(tc.Nanoseconds())/float64(i), "circuit-ns/req")
	b.ReportMetric(float64(tc)/float64(tg), "ratio")
}
