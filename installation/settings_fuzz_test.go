package installation

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseSettings: the admin's settings file parser never panics, and whatever it accepts
// survives a round trip through JSON unchanged (found by this fuzzer: an empty
// field list must compare equal to an absent one) and still validates.
func FuzzParseSettings(f *testing.F) {
	def, _ := json.Marshal(DefaultSettings())
	f.Add(def)
	f.Add([]byte(`{"service_name":"Candor","organisation":"Police","categories":[{"id":"general","name":"General"},` +
		`{"id":"intel","name":"Misuse of intelligence","description":"d","retention_days":730,` +
		`"fields":[{"id":"unit","label":"Unit","kind":"select","options":["A","B"],"required":true}]}]}`))
	f.Add([]byte(`{"categories":[{"id":"general","name":"General","keep_forever":true}]}`))
	f.Add([]byte(`{"categories":[]}`))
	f.Add([]byte(`{"categories":[{"id":"general","name":"General"}]} trailing`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSettings(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("accepted settings do not marshal: %v", err)
		}
		s2, err := ParseSettings(again)
		if err != nil {
			t.Fatalf("accepted settings do not parse after a round trip: %v", err)
		}
		// Compare encodings: an empty list and an absent one (omitempty) are the same settings.
		if third, _ := json.Marshal(s2); !bytes.Equal(again, third) {
			t.Fatalf("round trip changed the settings:\n%s\n%s", again, third)
		}
	})
}
