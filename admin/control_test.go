package admin_test

import (
	"bytes"
	"candor/admin"
	"candor/installation"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// TestControlSocket runs every admin action through the control socket and checks that errors keep
// their sentinels and the socket is private and removed at the end.
func TestControlSocket(t *testing.T) {
	e := newAdminEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- admin.ServeControl(ctx, e.a, e.dir) }()
	sock := filepath.Join(e.dir, admin.ControlSocket)
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	c := admin.NewControlClient(e.dir)
	card, _ := adminCard(t, "Alice Example")
	r, err := c.AddReviewer(card)
	if err != nil || r.Name != "Alice Example" {
		t.Fatalf("AddReviewer: %+v, %v", r, err)
	}
	if _, err := c.AddReviewer(card); !errors.Is(err, admin.ErrReviewerExists) {
		t.Errorf("duplicate: got %v, want ErrReviewerExists", err)
	}
	if _, err := c.IssueToken("aaaa-bbbb-cccc-dddd-eeee-ffff"); !errors.Is(err, admin.ErrUnknownReviewer) {
		t.Errorf("unknown: got %v, want ErrUnknownReviewer", err)
	}
	tok, err := c.IssueToken(r.Fingerprint)
	if err != nil || len(tok.Token) != 43 {
		t.Fatalf("IssueToken: %v", err)
	}
	if _, err := c.LoadSettings([]byte(`{"categories": []}`)); !errors.Is(err, installation.ErrSettings) {
		t.Errorf("bad settings: got %v, want ErrSettings", err)
	}
	if s, err := c.Status(); err != nil || s.Reviewers != 1 {
		t.Errorf("Status: %+v, %v", s, err)
	}
	if _, err := c.Backup(&bytes.Buffer{}, nil); !errors.Is(err, admin.ErrNoBackupRecipient) {
		t.Errorf("backup without recipient: got %v, want ErrNoBackupRecipient", err)
	}
	bid, _ := age.GenerateHybridIdentity()
	var backup bytes.Buffer
	if _, err := c.Backup(&backup, []string{bid.Recipient().String()}); err != nil {
		t.Fatal(err)
	}
	if _, err := age.Decrypt(bytes.NewReader(backup.Bytes()), bid); err != nil {
		t.Errorf("backup over the socket does not decrypt: %v", err)
	}
	if rs, _ := c.Reviewers(); len(rs) != 1 || strings.Contains(rs[0].Name, tok.Token) {
		t.Errorf("Reviewers = %+v", rs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ServeControl: %v", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestHeartbeat(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := admin.Heartbeat(ctx, dir, func() string { return "running" }, nil, func() time.Time { return now }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Time
		ok   bool
		want string
	}{
		{now.Add(10 * time.Second), true, ""},
		{now.Add(admin.HeartbeatMaxAge), false, "last heartbeat 1m0s ago"},
	}
	for _, tt := range tests {
		_, err := admin.CheckHealth(dir, tt.at)
		if (err == nil) != tt.ok || (err != nil && (!errors.Is(err, admin.ErrUnhealthy) || !strings.Contains(err.Error(), tt.want))) {
			t.Errorf("CheckHealth at %v: got %v, want ok=%v %q", tt.at, err, tt.ok, tt.want)
		}
	}
	admin.Heartbeat(ctx, dir, func() string { return "starting" }, nil, func() time.Time { return now })
	if _, err := admin.CheckHealth(dir, now); err == nil || !strings.Contains(err.Error(), "tor is starting") {
		t.Errorf("tor starting: got %v", err)
	}
	// A witness's refusal of the log makes the server unhealthy, naming the alarm.
	admin.Heartbeat(ctx, dir, func() string { return "running" }, func() []string { return []string{"ROLLBACK: witness w refused"} },
		func() time.Time { return now })
	if _, err := admin.CheckHealth(dir, now); !errors.Is(err, admin.ErrUnhealthy) || !strings.Contains(err.Error(), "ALARM: ROLLBACK") {
		t.Errorf("health with an alarm: got %v", err)
	}
	if _, err := admin.CheckHealth(t.TempDir(), now); !errors.Is(err, admin.ErrUnhealthy) {
		t.Errorf("no heartbeat: got %v", err)
	}
}
