package installation

import (
	"testing"

	"candor/internal/day"
	"candor/server/store"
)

func retentionSettings() *Settings {
	return &Settings{Categories: []Category{
		{ID: DefaultCategory, Name: "General"},
		{ID: "short", Name: "Short", RetentionDays: 30},
		{ID: "forever", Name: "Forever", KeepForever: true},
	}}
}

func TestRetentionPolicyValidation(t *testing.T) {
	tests := []struct {
		name string
		c    Category
		ok   bool
	}{
		{"default", Category{ID: "a", Name: "A"}, true},
		{"days", Category{ID: "a", Name: "A", RetentionDays: 30}, true},
		{"forever", Category{ID: "a", Name: "A", KeepForever: true}, true},
		{"negative", Category{ID: "a", Name: "A", RetentionDays: -1}, false},
		{"too long", Category{ID: "a", Name: "A", RetentionDays: MaxRetentionDays + 1}, false},
		{"both", Category{ID: "a", Name: "A", RetentionDays: 30, KeepForever: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.validate()
			if (err == nil) != tt.ok {
				t.Errorf("validate: got %v, want ok=%v", err, tt.ok)
			}
		})
	}
	s, err := ParseSettings([]byte(`{"categories":[{"id":"general","name":"G","retention_days":0}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d, forever := s.RetentionDays(DefaultCategory); d != DefaultRetentionDays || forever {
		t.Errorf("retention_days 0: got %d days, forever %v; want the default %d, not forever", d, forever, DefaultRetentionDays)
	}
}

func TestRetentionDue(t *testing.T) {
	s := *retentionSettings()
	closed := day.Day(20000)
	tests := []struct {
		name  string
		c     store.Case
		today day.Day
		want  bool
	}{
		{"open", store.Case{Category: DefaultCategory}, closed + 10000, false},
		{"default not yet", store.Case{Category: DefaultCategory, Closed: closed}, closed + 364, false},
		{"default due", store.Case{Category: DefaultCategory, Closed: closed}, closed + 365, true},
		{"short due", store.Case{Category: "short", Closed: closed}, closed + 30, true},
		{"short not yet", store.Case{Category: "short", Closed: closed}, closed + 29, false},
		{"forever", store.Case{Category: "forever", Closed: closed}, closed + 100000, false},
		{"removed category", store.Case{Category: "gone", Closed: closed}, closed + 365, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetentionDue(s, &tt.c, tt.today); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
