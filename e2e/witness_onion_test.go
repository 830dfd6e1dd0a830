package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"candor/internal/testenv"
)

// TestOnionWitness: candor serve on the private Tor network asks a witness that is itself an onion
// service (the real litewitness behind a second onion service of the network), through its own
// tor's SOCKS port, to cosign its checkpoints: after a report arrives through the public onion,
// `candor status` shows the log witnessed up to its size, with no alarm.
func TestOnionWitness(t *testing.T) {
	n := network(t)
	lw := testenv.StartLitewitness(t)
	ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
	defer cancel()
	witnessOnion, err := n.NewService(ctx, strings.TrimPrefix(lw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	in := newInstall(t, candorBin(t, false), "Alice")
	var st struct {
		Origin string `json:"log_origin"`
		Key    string `json:"log_key"`
	}
	if err := json.Unmarshal([]byte(in.run(t, "status", "--data", in.data, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	lw.AddLog(t, st.Origin, st.Key)
	in.run(t, "witness", "add", "--data", in.data, "--url", "http://"+witnessOnion, "--key", lw.VKey)
	srv := startServe(t, in, n)
	waitReachable(t, n.SOCKSAddr(), "http://"+witnessOnion+"/")
	waitReachable(t, n.SOCKSAddr(), "http://"+srv.public+"/")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("message", "a report the witness sees only as a checkpoint")
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+srv.public+"/report", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := onionClient(t, n.SOCKSAddr(), requestTimeout).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /report: status %d", resp.StatusCode)
	}
	var s struct {
		LogSize   int64    `json:"log_size"`
		Witnessed int64    `json:"witnessed_size"`
		Alarms    []string `json:"alarms"`
	}
	deadline := time.Now().Add(reachTimeout)
	for {
		if err := json.Unmarshal([]byte(in.run(t, "status", "--data", in.data, "--json")), &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Alarms) > 0 {
			t.Fatalf("alarms: %v", s.Alarms)
		}
		if s.Witnessed > 0 && s.Witnessed == s.LogSize {
			t.Logf("log of %d entries witnessed through the onion witness", s.LogSize)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log was not witnessed within %v: witnessed %d of %d", reachTimeout, s.Witnessed, s.LogSize)
		}
		time.Sleep(2 * time.Second)
	}
}
