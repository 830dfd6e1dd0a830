package server

import (
	"candor/admin"
	"strings"
	"testing"
)

// TestReloadSettings: `candor category load` through the Admin reaches a running server's report
// form without a restart.
func TestReloadSettings(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, err := admin.New(admin.Config{Store: e.st, DataDir: e.dir, Now: e.clock.now,
		OnSettingsChanged: func() {
			if err := e.srv.ReloadSettings(); err != nil {
				t.Errorf("ReloadSettings: %v", err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	_, before := e.get(e.client(), "/report")
	if strings.Contains(before, "Misuse of intelligence") {
		t.Fatal("the new category is on the form before it was loaded")
	}
	file := `{"categories":[{"id":"general","name":"General"},{"id":"intel","name":"Misuse of intelligence"}]}`
	if _, err := a.LoadSettings([]byte(file)); err != nil {
		t.Fatal(err)
	}
	if _, after := e.get(e.client(), "/report"); !strings.Contains(after, "Misuse of intelligence") {
		t.Error("the report form does not offer the category loaded while serving")
	}
}
