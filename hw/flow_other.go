//go:build !linux

package hw

import "errors"

// flowControl is not implemented off Linux: go.bug.st/serial has no RTS/CTS
// setting and the client sets it through Linux termios.
type flowControl struct{}

func openFlowControl(string) (*flowControl, error) { return nil, errors.ErrUnsupported }
func (*flowControl) enable() error                 { return errors.ErrUnsupported }
func (*flowControl) close()                        {}
