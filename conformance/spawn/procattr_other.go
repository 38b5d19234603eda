//go:build !linux

package spawn

import "os/exec"

// bindToParent has no portable equivalent of Linux's parent-death signal;
// elsewhere Stop must be called.
func bindToParent(*exec.Cmd) {}
