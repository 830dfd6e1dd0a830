package installation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// encoding/json matches object keys to struct fields without regard to case ("Service_Name" fills
// ServiceName), so a file could hold two spellings of one key, the last silently winning, or a
// key that reads differently from the one that takes effect. checkKeys refuses every key that is
// not spelled exactly as its field's tag, before the file is decoded into Settings.

// checkKeys reports the first object key in the JSON document b that does not match a json tag of
// the corresponding struct in t exactly.
func checkKeys(b []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil // the decoder proper reports syntax errors
	}
	return walkKeys(v, t, "")
}

func walkKeys(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := v.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			return nil
		}
		fields := jsonFields(t)
		for k, sub := range x {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("%w: unknown field %q%s (keys are case-sensitive)", ErrSettings, k, where(path))
			}
			if err := walkKeys(sub, ft, path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil
		}
		for i, sub := range x {
			if err := walkKeys(sub, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func where(path string) string {
	if path == "" {
		return ""
	}
	return " in " + strings.TrimPrefix(path, ".")
}

// jsonFields maps the exact json names of t's exported fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}
