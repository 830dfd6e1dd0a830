package installation

import (
	"errors"
	"strings"
	"testing"
)

// TestSettingsKeysCaseSensitive: keys must be spelled exactly as documented, at every level.
func TestSettingsKeysCaseSensitive(t *testing.T) {
	good := `{"service_name":"S","categories":[{"id":"general","name":"General","fields":[{"id":"q","label":"Q","kind":"text"}]}]}`
	if _, err := ParseSettings([]byte(good)); err != nil {
		t.Fatalf("good settings: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(good, `"service_name"`, `"Service_Name"`, 1),
		strings.Replace(good, `"categories"`, `"CATEGORIES"`, 1),
		strings.Replace(good, `"name":"General"`, `"Name":"General"`, 1),
		strings.Replace(good, `"kind"`, `"Kind"`, 1),
		strings.Replace(good, `{"service_name":"S",`, `{"service_name":"S","SERVICE_NAME":"T",`, 1),
	} {
		if _, err := ParseSettings([]byte(bad)); !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), "case-sensitive") {
			t.Errorf("%s: got %v, want a case-sensitive key refusal", bad, err)
		}
	}
}
