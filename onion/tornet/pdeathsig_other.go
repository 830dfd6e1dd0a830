//go:build !linux

package tornet

import "os/exec"

// setParentDeathSignal does nothing here; __OwningControllerProcess still ends tor when the test binary exits.
func setParentDeathSignal(*exec.Cmd) {}
