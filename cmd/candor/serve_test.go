package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"candor/candortest"
	"candor/installation"
)

func TestInitAndServeFlags(t *testing.T) {
	dir := t.TempDir()
	cardFile := candortest.NewReviewer(t, "Alice").CardFile(t, dir)
	data := filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	if code := run([]string{"init", "--data", data, "--reviewer", cardFile}, &out, &errb); code != 0 {
		t.Fatalf("init: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(data, installation.StoreFile)); err != nil {
		t.Fatalf("no store: %v", err)
	}
	errb.Reset()
	if code := run([]string{"init", "--data", data}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "already initialised") {
		t.Errorf("second init: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"serve", "--data", data, "--dev-listen", "0.0.0.0:0"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "loopback") {
		t.Errorf("serve on a public address: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"serve", "--data", filepath.Join(dir, "empty"), "--dev-listen", "127.0.0.1:0"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not initialised") {
		t.Errorf("serve without init: exit %d, stderr %q", code, errb.String())
	}
}

// TestUsageListsEveryCommand checks that the generated help names every registered command.
func TestUsageListsEveryCommand(t *testing.T) {
	cmds := commands()
	u := usage(cmds)
	for _, c := range cmds {
		if !strings.Contains(u, "candor "+c.name+" ") && !strings.Contains(u, "candor "+c.name+"\n") {
			t.Errorf("the help does not list %q", c.name)
		}
	}
}
