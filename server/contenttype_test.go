package server

import "testing"

func TestContentType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"application/pdf", "application/pdf"},
		{"Image/PNG; charset=x", "image/png"},
		{"", "application/octet-stream"},
		{"text", "application/octet-stream"},
		{"a/b/c", "application/octet-stream"},
		{"text/html\u202e", "application/octet-stream"},
		{"text/plain\r\nX-Evil: 1", "application/octet-stream"},
	}
	for _, tt := range tests {
		if got := contentType(tt.in); got != tt.want {
			t.Errorf("contentType(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
