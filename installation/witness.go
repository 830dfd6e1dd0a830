package installation

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"candor/internal/checkpoint"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

// Meta keys of the witnesses.
const (
	MetaWitnesses    = "witness.config" // JSON []Witness: the witnesses asked to cosign
	MetaWitnessState = "witness.state"  // JSON WitnessState: what they answered, for the current origin
)

// Witness is a C2SP tlog-witness the server asks to cosign its checkpoints.
type Witness struct {
	URL string `json:"url"` // submission prefix: http://host:port or http://….onion
	Key string `json:"key"` // its cosignature verifier key (vkey)
}

// Alarm kinds: a witness's refusal that is evidence against the store.
const (
	AlarmRollback = "rollback" // the witness holds a larger tree of this log
	AlarmFork     = "fork"     // the witness holds another tree of this log
)

// Alarm is a witness's refusal of the log, recorded until the log's epoch ends.
type Alarm struct {
	Kind    string  `json:"kind"`    // AlarmRollback or AlarmFork
	Witness string  `json:"witness"` // the witness's name
	Text    string  `json:"text"`    // what it said (sizes, no content)
	Day     day.Day `json:"day"`
}

// String is the alarm as `candor status` and the log print it.
func (a Alarm) String() string {
	return fmt.Sprintf("%s: witness %s refused the case log on %s: %s", strings.ToUpper(a.Kind), a.Witness, a.Day, a.Text)
}

// WitnessState is what the witnesses answered for the log named Origin.
type WitnessState struct {
	Origin string `json:"origin"`
	// Note is the latest checkpoint note with the cosignatures gathered for it (of size Size).
	Note []byte `json:"note,omitempty"`
	Size int64  `json:"size"`
	// Witnessed is the largest size any configured witness cosigned; Sizes the size each
	// witness (by key) last cosigned, the "old" size of the next request to it.
	Witnessed int64            `json:"witnessed"`
	Sizes     map[string]int64 `json:"sizes,omitempty"`
	// LastNote is the latest note that a configured witness cosigned (the evidence a restore's
	// epoch record carries).
	LastNote []byte  `json:"last_note,omitempty"`
	Alarms   []Alarm `json:"alarms,omitempty"`
	// Lines are the cosignature lines gathered for the tree of size Size, by witness key.
	Lines map[string]string `json:"lines,omitempty"`
}

// LinesAt returns (a copy of) the cosignature lines gathered for the tree of size n.
func (s *WitnessState) LinesAt(n int64) map[string]string {
	out := map[string]string{}
	if s.Size == n {
		for k, v := range s.Lines {
			out[k] = v
		}
	}
	return out
}

// SetLines records the cosignature lines gathered for the tree of size n whose note (with the
// log's signatures) is note: Note becomes note with the lines appended (nil without lines), and
// LastNote and Witnessed follow it.
func (s *WitnessState) SetLines(n int64, note []byte, lines map[string]string) {
	s.Size, s.Lines, s.Note = n, lines, nil
	if len(lines) == 0 {
		return
	}
	full := slices.Clone(note)
	for _, k := range slices.Sorted(maps.Keys(lines)) {
		full = append(full, lines[k]...)
	}
	s.Note, s.LastNote, s.Witnessed = full, full, max(s.Witnessed, n)
}

// ErrWitness: a witness to add is not usable (URL or key).
var ErrWitness = errors.New("bad witness")

// LoadWitnesses returns the configured witnesses.
func LoadWitnesses(st *store.Store) ([]Witness, error) {
	var ws []Witness
	return ws, loadJSON(st, MetaWitnesses, &ws)
}

// AddWitness configures a witness (replacing one with the same key) and logs the change: a
// SettingsChanged entry whose Subject is SHA-256 of the new list and whose Value is "witnesses".
func AddWitness(st *store.Store, w Witness, today day.Day) error {
	if err := w.validate(); err != nil {
		return err
	}
	ws, err := LoadWitnesses(st)
	if err != nil {
		return err
	}
	ws = slices.DeleteFunc(ws, func(o Witness) bool { return o.Key == w.Key })
	return saveWitnesses(st, append(ws, w), today)
}

// RemoveWitness removes the witness whose key (or name) is key; store.ErrNotFound if none.
func RemoveWitness(st *store.Store, key string, today day.Day) error {
	ws, err := LoadWitnesses(st)
	if err != nil {
		return err
	}
	n := len(ws)
	ws = slices.DeleteFunc(ws, func(o Witness) bool { return o.Key == key || witnessName(o.Key) == key })
	if len(ws) == n {
		return fmt.Errorf("witness %q: %w", key, store.ErrNotFound)
	}
	return saveWitnesses(st, ws, today)
}

func saveWitnesses(st *store.Store, ws []Witness, today day.Day) error {
	b, _ := json.Marshal(ws)
	e, err := (&logentry.Entry{Type: logentry.SettingsChanged, Day: today, Actor: "admin",
		Subject: sha256.Sum256(b), Value: "witnesses"}).Marshal()
	if err != nil {
		return err
	}
	if err := st.PutMeta(MetaWitnesses, b); err != nil {
		return err
	}
	_, err = st.AppendLog([][]byte{e})
	return err
}

func (w Witness) validate() error {
	if _, err := checkpoint.NewCosignatureVerifier(w.Key); err != nil {
		return fmt.Errorf("%w: key: %w", ErrWitness, err)
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%w: URL must be http(s)://host[:port][/prefix]", ErrWitness)
	}
	return nil
}

// Name returns the witness's name (its key's name).
func (w Witness) Name() string { return witnessName(w.Key) }

func witnessName(key string) string { name, _, _ := strings.Cut(key, "+"); return name }

// Onion reports whether the witness is an onion service (reached through tor).
func (w Witness) Onion() bool {
	u, err := url.Parse(w.URL)
	return err == nil && strings.HasSuffix(u.Hostname(), ".onion")
}

// LoadWitnessState returns the witnesses' state for origin (a fresh one if the stored state is of
// another origin: a new epoch starts unwitnessed and without alarms).
func LoadWitnessState(st *store.Store, origin string) (*WitnessState, error) {
	var s WitnessState
	if err := loadJSON(st, MetaWitnessState, &s); err != nil {
		return nil, err
	}
	if s.Origin != origin {
		s = WitnessState{Origin: origin}
	}
	if s.Sizes == nil {
		s.Sizes = map[string]int64{}
	}
	return &s, nil
}

// SaveWitnessState stores s.
func SaveWitnessState(st *store.Store, s *WitnessState) error {
	b, _ := json.Marshal(s)
	return st.PutMeta(MetaWitnessState, b)
}

func loadJSON(st *store.Store, key string, v any) error {
	b, err := st.Meta(key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", key, store.ErrCorrupt)
	}
	return nil
}
