package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// witnessRoutes adds the witness actions to the control socket.
func (a *Admin) witnessRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/witnesses", func(w http.ResponseWriter, r *http.Request) {
		send(w, func() (any, error) { return a.Witnesses() })
	})
	mux.HandleFunc("POST /v1/witnesses", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ URL, Key string }
		if b, ok := body(w, r); ok {
			if err := json.Unmarshal(b, &req); err != nil {
				writeError(w, fmt.Errorf("bad request: %w", err))
				return
			}
			send(w, func() (any, error) { return a.AddWitness(req.URL, req.Key) })
		}
	})
	mux.HandleFunc("POST /v1/witnesses/remove", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Key string }
		if b, ok := body(w, r); ok {
			if err := json.Unmarshal(b, &req); err != nil {
				writeError(w, fmt.Errorf("bad request: %w", err))
				return
			}
			send(w, func() (any, error) { return struct{}{}, a.RemoveWitness(req.Key) })
		}
	})
}

// Witnesses lists the configured witnesses.
func (c *ControlClient) Witnesses() ([]WitnessInfo, error) {
	var out []WitnessInfo
	return out, c.call("GET", "/v1/witnesses", nil, &out)
}

// AddWitness configures a witness.
func (c *ControlClient) AddWitness(url, key string) (WitnessInfo, error) {
	b, _ := json.Marshal(map[string]string{"url": url, "key": key})
	var out WitnessInfo
	return out, c.call("POST", "/v1/witnesses", b, &out)
}

// RemoveWitness removes a witness by key or name.
func (c *ControlClient) RemoveWitness(key string) error {
	var out struct{}
	return c.call("POST", "/v1/witnesses/remove", jsonBody("key", key), &out)
}
