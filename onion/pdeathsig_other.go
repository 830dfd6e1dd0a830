//go:build !linux

package onion

import "os/exec"

// setParentDeathSignal does nothing here; __OwningControllerProcess still makes tor exit when Candor does.
func setParentDeathSignal(*exec.Cmd) {}
