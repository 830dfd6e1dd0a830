// Package admin owns every admin operation on an installation (DESIGN §10): reviewers and sync
// tokens (with their onion client-authorisation lines), settings, backup and restore, status and
// health (heartbeat), the retention job, the content-free notifier, the case-log check, and the
// control socket through which the same operations reach a running server (ServeControl, the
// server side; ControlClient, the client side). Jobs are the periodic ones a running server starts.
// It never imports fiber: nothing here speaks to reporters.
package admin
