package installation

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"candor/frontend"
	"candor/internal/day"
	"candor/internal/logentry"
	"candor/server/store"
)

// DefaultCategory is the ID of the category that always exists; a submission without a category
// field goes there.
const DefaultCategory = "general"

// Settings are the admin-edited parts of an installation: the service's name and the report
// categories with their questionnaires. They are stored as JSON in store meta (MetaSettings) and
// loaded from an admin's file with ParseSettings.
type Settings struct {
	ServiceName  string     `json:"service_name,omitempty"`
	Organisation string     `json:"organisation,omitempty"`
	Categories   []Category `json:"categories"`
	// InfoPages are the organisation's information pages (info.go), per kind and language.
	InfoPages []InfoPage `json:"info,omitempty"`
}

// Category is a topic of reports with its own questions.
type Category struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Fields      []Field `json:"fields,omitempty"`
	// RetentionDays is how many days after a case of this category is closed the retention job
	// deletes it; 0 means DefaultRetentionDays. Keeping cases forever needs KeepForever (an
	// explicit choice, so that a forgotten or zero value never disables deletion).
	RetentionDays int  `json:"retention_days,omitempty"`
	KeepForever   bool `json:"keep_forever,omitempty"`
}

// Field is one question of a category's questionnaire; Kind is one of the frontend.Field* kinds.
type Field struct {
	ID       string   `json:"id"`
	Label    string   `json:"label"`
	Help     string   `json:"help,omitempty"`
	Kind     string   `json:"kind"`
	Options  []string `json:"options,omitempty"`
	Required bool     `json:"required,omitempty"`
}

// ErrSettings is wrapped by every validation error of ParseSettings and Settings.Validate.
var ErrSettings = errors.New("invalid settings")

// Limits of the settings format.
const (
	maxCategories = 50
	maxFields     = 30
	maxOptions    = 50
	maxTextLen    = 500 // runes of a name, label, help, description or option
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// DefaultSettings returns settings with the default category only.
func DefaultSettings() Settings {
	return Settings{Categories: []Category{{ID: DefaultCategory, Name: "General"}}}
}

// ParseSettings decodes and validates a settings file (JSON, unknown fields refused, keys matched
// case-sensitively).
func ParseSettings(b []byte) (Settings, error) {
	if err := checkKeys(b, reflect.TypeFor[Settings]()); err != nil {
		return Settings{}, err
	}
	var s Settings
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Settings{}, fmt.Errorf("%w: %v", ErrSettings, err)
	}
	if dec.More() {
		return Settings{}, fmt.Errorf("%w: trailing data after the JSON object", ErrSettings)
	}
	return s, s.Validate()
}

// Validate checks the rules an admin's file must follow; errors name the offending category or
// field and wrap ErrSettings.
func (s Settings) Validate() error {
	if err := checkText("service_name", s.ServiceName, false); err != nil {
		return err
	}
	if err := checkText("organisation", s.Organisation, false); err != nil {
		return err
	}
	if len(s.Categories) > maxCategories {
		return fmt.Errorf("%w: more than %d categories", ErrSettings, maxCategories)
	}
	seen := map[string]bool{}
	for i, c := range s.Categories {
		if err := c.validate(); err != nil {
			return fmt.Errorf("category %d (%q): %w", i+1, c.ID, err)
		}
		if seen[c.ID] {
			return fmt.Errorf("%w: duplicate category id %q", ErrSettings, c.ID)
		}
		seen[c.ID] = true
	}
	if !seen[DefaultCategory] {
		return fmt.Errorf("%w: the category %q must exist", ErrSettings, DefaultCategory)
	}
	return validateInfo(s.InfoPages, frontend.LanguageTags())
}

func (c Category) validate() error {
	if !idPattern.MatchString(c.ID) {
		return fmt.Errorf("%w: id must be 1-32 of a-z, 0-9 and '-'", ErrSettings)
	}
	if err := checkText("name", c.Name, true); err != nil {
		return err
	}
	if err := checkText("description", c.Description, false); err != nil {
		return err
	}
	if err := c.validateRetention(); err != nil {
		return err
	}
	if len(c.Fields) > maxFields {
		return fmt.Errorf("%w: more than %d fields", ErrSettings, maxFields)
	}
	seen := map[string]bool{}
	for i, f := range c.Fields {
		if err := f.validate(); err != nil {
			return fmt.Errorf("field %d (%q): %w", i+1, f.ID, err)
		}
		if seen[f.ID] {
			return fmt.Errorf("%w: duplicate field id %q", ErrSettings, f.ID)
		}
		seen[f.ID] = true
	}
	return nil
}

func (f Field) validate() error {
	if !idPattern.MatchString(f.ID) {
		return fmt.Errorf("%w: id must be 1-32 of a-z, 0-9 and '-'", ErrSettings)
	}
	// The label starts an answers line "label: value" (internal/frame), so it holds no ':'.
	if err := checkText("label", f.Label, true); err != nil {
		return err
	}
	if strings.ContainsRune(f.Label, ':') {
		return fmt.Errorf("%w: label must not contain ':'", ErrSettings)
	}
	if err := checkText("help", f.Help, false); err != nil {
		return err
	}
	switch f.Kind {
	case frontend.FieldText, frontend.FieldTextarea, frontend.FieldYesNo:
		if len(f.Options) > 0 {
			return fmt.Errorf("%w: options are only for kind %q", ErrSettings, frontend.FieldSelect)
		}
	case frontend.FieldSelect:
		if len(f.Options) == 0 || len(f.Options) > maxOptions {
			return fmt.Errorf("%w: a select needs 1 to %d options", ErrSettings, maxOptions)
		}
		for _, o := range f.Options {
			if err := checkText("option", o, true); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w: kind must be text, textarea, select or yesno", ErrSettings)
	}
	return nil
}

// checkText accepts up to maxTextLen runes of valid UTF-8 without control characters.
func checkText(what, s string, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: %s is required", ErrSettings, what)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrSettings, what)
	case utf8.RuneCountInString(s) > maxTextLen:
		return fmt.Errorf("%w: %s is longer than %d characters", ErrSettings, what, maxTextLen)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %s contains control characters", ErrSettings, what)
	}
	return nil
}

// LoadSettings reads the settings from st (DefaultSettings if none were saved).
func LoadSettings(st *store.Store) (Settings, error) {
	b, err := st.Meta(MetaSettings)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("loading settings: %w", err)
	}
	s, err := ParseSettings(b)
	if err != nil {
		return Settings{}, fmt.Errorf("stored settings: %w", err)
	}
	return s, nil
}

// SaveSettings validates s, stores it and appends a SettingsChanged entry (dated today) to the
// case log. A running server reads settings at New, so it must be restarted to see them.
func SaveSettings(st *store.Store, s Settings, today day.Day) error {
	if err := s.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := st.PutMeta(MetaSettings, b); err != nil {
		return fmt.Errorf("saving settings: %w", err)
	}
	e, err := (&logentry.Entry{Type: logentry.SettingsChanged, Day: today, Actor: "admin",
		Subject: sha256.Sum256(b)}).Marshal()
	if err != nil {
		return err
	}
	_, err = st.AppendLog([][]byte{e})
	return err
}

// category returns the category with the given ID.
func (s Settings) Category(id string) (Category, bool) {
	for _, c := range s.Categories {
		if c.ID == id {
			return c, true
		}
	}
	return Category{}, false
}

// Retention policy limits (Category.RetentionDays).
const (
	DefaultRetentionDays = 365
	MaxRetentionDays     = 100 * 366
)

// validateRetention checks a category's retention policy.
func (c Category) validateRetention() error {
	switch {
	case c.RetentionDays < 0 || c.RetentionDays > MaxRetentionDays:
		return fmt.Errorf("%w: retention_days must be 1 to %d (omit it for the default of %d)",
			ErrSettings, MaxRetentionDays, DefaultRetentionDays)
	case c.KeepForever && c.RetentionDays != 0:
		return fmt.Errorf("%w: keep_forever and retention_days exclude each other", ErrSettings)
	}
	return nil
}

// retentionDays returns the retention period of a category and whether its cases are kept
// forever. A category missing from the settings (removed since the case arrived) gets the
// default period.
func (s Settings) RetentionDays(category string) (days int, forever bool) {
	c, ok := s.Category(category)
	switch {
	case ok && c.KeepForever:
		return 0, true
	case ok && c.RetentionDays > 0:
		return c.RetentionDays, false
	}
	return DefaultRetentionDays, false
}

// RetentionDue reports whether case c is due for deletion on today under settings s: it was
// closed (Closed set) at least the category's retention period ago and its category does not keep
// cases forever. Holds are not considered here (DeleteCase refuses held cases).
func RetentionDue(s Settings, c *store.Case, today day.Day) bool {
	days, forever := s.RetentionDays(c.Category)
	return c.Closed != 0 && !forever && today >= c.Closed.AddDays(days)
}
