//go:build unix

package admin

import (
	"net"
	"syscall"
)

// listenPrivate listens on a unix socket created with mode 0600 from the start: the umask is
// narrowed around bind, so there is no moment in which another user could connect (a chmod after
// bind would leave one). The umask is process-wide; for that instant, files other goroutines
// create get no group or other permissions, never more.
func listenPrivate(path string) (net.Listener, error) {
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	return ln, err
}
